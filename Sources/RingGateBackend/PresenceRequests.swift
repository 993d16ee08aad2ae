import Synchronization

/// PRESENCE questions in flight, by request id. The gateway may answer one question in several
/// parts; the answer is complete once the parts list every id from the asked offset, up to the
/// asked limit, of the `total` the first part announced.
final class PresenceRequests: Sendable {
    private struct Pending {
        let offset: Int
        let limit: Int
        var continuation: CheckedContinuation<Result<Presence, BackendLinkError>, Never>?
        var first: Presence?
        var connections: [ConnectionID] = []
        var answer: Result<Presence, BackendLinkError>?
    }

    private struct State {
        var nextRequest: UInt32 = 1
        var pending: [UInt32: Pending] = [:]
        var failure: BackendLinkError?
    }

    private let state = Mutex(State())

    /// Reserves a request id for a question about `limit` ids from `offset`.
    func register(offset: Int, limit: Int) throws(BackendLinkError) -> UInt32 {
        let result: Result<UInt32, BackendLinkError> = state.withLock { state in
            if let failure = state.failure { return .failure(failure) }
            let request = state.nextRequest
            state.nextRequest = state.nextRequest &+ 1 == 0 ? 1 : state.nextRequest &+ 1
            state.pending[request] = Pending(offset: offset, limit: limit)
            return .success(request)
        }
        return try result.get()
    }

    /// Waits for the whole answer to `request`.
    func answer(_ request: UInt32) async throws(BackendLinkError) -> Presence {
        let result = await withCheckedContinuation { continuation in
            let ready: Result<Presence, BackendLinkError>? = state.withLock { state in
                guard var entry = state.pending[request] else { return .failure(state.failure ?? .linkClosed) }
                if let answer = entry.answer {
                    state.pending[request] = nil
                    return answer
                }
                entry.continuation = continuation
                state.pending[request] = entry
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
        return try result.get()
    }

    /// Forgets `request` (its command could not be sent).
    func cancel(_ request: UInt32) {
        _ = state.withLock { $0.pending.removeValue(forKey: request) }
    }

    /// Reader thread: adds a part. False when nobody asked for `request`.
    func deliver(request: UInt32, part: Presence) -> Bool {
        let (known, waiter, answer) = state.withLock { state -> (Bool, CheckedContinuation<Result<Presence, BackendLinkError>, Never>?, Result<Presence, BackendLinkError>?) in
            guard var entry = state.pending[request] else { return (false, nil, nil) }
            let first = entry.first ?? part
            entry.first = first
            entry.connections += part.connections
            let expected = min(entry.limit, max(0, first.total - entry.offset))
            guard entry.connections.count >= expected else {
                state.pending[request] = entry
                return (true, nil, nil)
            }
            let answer = Result<Presence, BackendLinkError>.success(
                Presence(topic: first.topic, total: first.total, offset: entry.offset, connections: entry.connections))
            if let waiter = entry.continuation {
                state.pending[request] = nil
                return (true, waiter, answer)
            }
            entry.answer = answer
            state.pending[request] = entry
            return (true, nil, nil)
        }
        if let waiter, let answer { waiter.resume(returning: answer) }
        return known
    }

    /// The link ended: every question in flight fails with `error`, and later ones too.
    func failAll(_ error: BackendLinkError) {
        let waiters = state.withLock { state in
            state.failure = error
            let waiters = state.pending.values.compactMap(\.continuation)
            state.pending = [:]
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: .failure(error)) }
    }
}
