/// Commands on their way to the gateway. Callers append encoded frames under a lock; the
/// writer thread takes everything appended so far and writes it in one go. While the
/// application still has events to handle (`moreComing`), the writer is not woken per command:
/// the answers to one read's events leave in one write when the application runs out of events
/// (`flush`), or within `lingerMicroseconds` if it stays busy. Past `highWaterBytes` callers wait
/// until the writer takes the buffer: a gateway that stops reading (its own backpressure) slows
/// the worker down instead of growing its memory.
final class CommandQueue: @unchecked Sendable {
    private let condition = ThreadCondition()
    private let highWaterBytes: Int
    private let maxFrame: UInt32
    private let moreComing: @Sendable () -> Bool
    private let lingerMicroseconds = 1000
    // All below under `condition`.
    private var pending: LinkWriter
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var failure: BackendLinkError?
    private var draining = false
    /// Write what is pending now rather than after the linger.
    private var flushWanted = false

    init(highWaterBytes: Int, maxFrame: UInt32, moreComing: @escaping @Sendable () -> Bool) {
        self.highWaterBytes = highWaterBytes
        self.maxFrame = maxFrame
        self.moreComing = moreComing
        pending = LinkWriter(capacity: 64 << 10)
    }

    /// Appends one frame written by `encode` (begin, fields, end), then waits if too much waits
    /// for the writer. `urgent`: the caller awaits an answer, so the frame goes out now.
    /// Throws the link's failure once it has one.
    nonisolated(nonsending) func enqueue(urgent: Bool = false, _ encode: (inout LinkWriter) -> Void) async throws(BackendLinkError) {
        let batching = !urgent && moreComing()
        condition.lock()
        if let failure = failure ?? (draining ? .linkClosed : nil) {
            condition.unlock()
            throw failure
        }
        let before = pending.count
        encode(&pending)
        let frameLength = pending.count - before - 4
        if frameLength > Int(maxFrame) {
            pending.abandonLast(from: before)
            condition.unlock()
            throw .invalidArgument("frame of \(frameLength) bytes is over the gateway's max_frame \(maxFrame)")
        }
        let full = pending.count > highWaterBytes
        let first = before == 0
        if !batching || full { flushWanted = true }
        // The writer sleeps untimed while nothing is pending: the first bytes start its linger.
        if flushWanted || first { condition.broadcast() }
        condition.unlock()
        if full { await waitForRoom() }
    }

    nonisolated(nonsending) private func waitForRoom() async {
        await withCheckedContinuation { continuation in
            condition.lock()
            if pending.count <= highWaterBytes || failure != nil {
                condition.unlock()
                continuation.resume()
            } else {
                waiters.append(continuation)
                condition.unlock()
            }
        }
    }

    /// Writer thread: writes until the queue fails, or drains after `drainAndStop`.
    func writeLoop(to socket: UnixSocket) {
        var batch = LinkWriter(capacity: 64 << 10)
        condition.lock()
        while true {
            while failure == nil, !draining, pending.isEmpty || !flushWanted {
                if pending.isEmpty {
                    condition.wait()
                } else {
                    condition.wait(microseconds: lingerMicroseconds)
                    flushWanted = true  // lingered long enough (or was woken to flush)
                }
            }
            if failure != nil || pending.isEmpty { break }
            flushWanted = false
            swap(&batch, &pending)
            let resumed = waiters
            waiters = []
            condition.unlock()
            for waiter in resumed { waiter.resume() }
            let error = batch.bytes.withUnsafeBytes { socket.writeAll($0) }
            batch.reset()
            condition.lock()
            if error != 0 {
                if failure == nil { failure = .io(errno: error) }
                break
            }
        }
        let left = waiters
        waiters = []
        condition.unlock()
        for waiter in left { waiter.resume() }
        socket.shutdown(writeOnly: !hasFailed)
    }

    /// The application ran out of events: what it queued answering them goes out now.
    func flush() {
        condition.lock()
        if !pending.isEmpty, !flushWanted {
            flushWanted = true
            condition.broadcast()
        }
        condition.unlock()
    }

    /// Refuses further commands with `error` and stops the writer without writing what waits.
    func fail(_ error: BackendLinkError) {
        condition.lock()
        if failure == nil { failure = error }
        condition.broadcast()
        condition.unlock()
    }

    /// Refuses further commands; the writer writes what waits, then half-closes the socket.
    func drainAndStop() {
        condition.lock()
        draining = true
        condition.broadcast()
        condition.unlock()
    }

    private var hasFailed: Bool { failureReason != nil }

    /// Why the queue stopped, if it failed.
    var failureReason: BackendLinkError? {
        condition.lock()
        defer { condition.unlock() }
        return failure
    }
}

extension LinkWriter {
    /// Drops everything from `offset` on (a frame that cannot be sent).
    mutating func abandonLast(from offset: Int) {
        var kept = take()
        kept.removeSubrange(offset...)
        raw(kept)
    }
}
