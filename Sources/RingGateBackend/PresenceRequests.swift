import Synchronization

/// PRESENCE questions in flight, by request id; the gateway answers each with exactly one
/// PRESENCE event carrying the same id, in whatever order it answers several.
final class PresenceRequests: Sendable {
    private struct Pending {
        var continuation: CheckedContinuation<Result<Presence, BackendLinkError>, Never>?
        /// An answer that came before its asker started waiting.
        var answer: Result<Presence, BackendLinkError>?
    }

    private struct State {
        var nextRequest: UInt32 = 1
        var pending: [UInt32: Pending] = [:]
        var failure: BackendLinkError?
    }

    private let state = Mutex(State())

    /// Reserves a request id.
    func register() throws(BackendLinkError) -> UInt32 {
        let result: Result<UInt32, BackendLinkError> = state.withLock { state in
            if let failure = state.failure { return .failure(failure) }
            let request = state.nextRequest
            state.nextRequest = state.nextRequest &+ 1 == 0 ? 1 : state.nextRequest &+ 1
            state.pending[request] = Pending()
            return .success(request)
        }
        return try result.get()
    }

    /// Waits for the whole answer to `request`.
    nonisolated(nonsending) func answer(_ request: UInt32) async throws(BackendLinkError) -> Presence {
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

    /// Reader thread: hands `answer` to its asker. False when nobody asked for `request`.
    func deliver(request: UInt32, answer: Presence) -> Bool {
        let (known, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Result<Presence, BackendLinkError>, Never>?) in
            guard var entry = state.pending[request] else { return (false, nil) }
            guard let waiter = entry.continuation else {
                entry.answer = .success(answer)
                state.pending[request] = entry
                return (true, nil)
            }
            state.pending[request] = nil
            return (true, waiter)
        }
        waiter?.resume(returning: .success(answer))
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
