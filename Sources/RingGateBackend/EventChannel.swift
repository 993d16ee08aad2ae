/// Events from the reader thread to the application, bounded: when `capacity` events wait,
/// the reader thread blocks, stops reading the socket, and the gateway's own flow control
/// (docs/PROTOCOL.md, "Flow control") pauses the clients. One consumer at a time.
final class EventChannel: @unchecked Sendable {
    private let condition = ThreadCondition()
    private let capacity: Int
    // All below under `condition`.
    private var queued: [BackendEvent] = []
    private var head = 0
    private var waiter: CheckedContinuation<BackendEvent?, Never>?
    private var finished = false
    private var discarding = false

    /// Called when the consumer finds nothing queued and is about to wait.
    private let whenDrained: @Sendable () -> Void

    init(capacity: Int, whenDrained: @escaping @Sendable () -> Void) {
        self.capacity = max(1, capacity)
        self.whenDrained = whenDrained
    }

    /// Reader thread: queues the events of one read, blocking while the channel is full. One
    /// batch per read means one wakeup of the consumer per read, not per event.
    func push(_ events: [BackendEvent]) {
        guard !events.isEmpty else { return }
        condition.lock()
        while queued.count - head >= capacity, !discarding { condition.wait() }
        if discarding {
            condition.unlock()
        } else if let waiter {
            self.waiter = nil
            queued.append(contentsOf: events.dropFirst())
            condition.unlock()
            waiter.resume(returning: events[0])
        } else {
            queued.append(contentsOf: events)
            condition.unlock()
        }
    }

    /// True while events wait for the consumer: it will come back to `next()` soon.
    var hasQueuedEvents: Bool {
        condition.lock()
        defer { condition.unlock() }
        return head < queued.count
    }

    /// Queues `last` (ignoring the bound), then ends the sequence once it is consumed.
    func finish(last: BackendEvent? = nil) {
        condition.lock()
        finished = true
        if let last, !discarding { queued.append(last) }
        guard let waiter else {
            condition.unlock()
            return
        }
        self.waiter = nil
        let next = takeLocked()
        condition.unlock()
        waiter.resume(returning: next)
    }

    /// Drops what waits and everything after: the application stopped listening.
    func discard() {
        condition.lock()
        discarding = true
        queued.removeAll()
        head = 0
        condition.broadcast()
        condition.unlock()
    }

    /// Runs on the caller's executor (`nonisolated(nonsending)`): a loop on the main actor
    /// takes queued events without hopping threads.
    nonisolated(nonsending) func next() async -> BackendEvent? {
        condition.lock()
        if head < queued.count {
            let event = takeLocked()
            condition.unlock()
            return event
        }
        condition.unlock()
        whenDrained()
        return await withCheckedContinuation { continuation in
            condition.lock()
            if head < queued.count || finished {
                let event = takeLocked()
                condition.unlock()
                continuation.resume(returning: event)
            } else {
                waiter = continuation
                condition.unlock()
            }
        }
    }

    private func takeLocked() -> BackendEvent? {
        guard head < queued.count else { return nil }
        let event = queued[head]
        head += 1
        if head == queued.count {
            queued.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024, head * 2 >= queued.count {
            queued.removeSubrange(0..<head)
            head = 0
        }
        if queued.count - head < capacity { condition.broadcast() }
        return event
    }
}

/// `link.events`: every event of the link in order, ending when the link closes. Iterate it
/// from one task; events not consumed hold the gateway back (bounded buffering).
public struct BackendEvents: AsyncSequence, Sendable {
    public typealias Element = BackendEvent
    let channel: EventChannel

    public struct AsyncIterator: AsyncIteratorProtocol {
        let channel: EventChannel

        public mutating func next() async -> BackendEvent? { await channel.next() }

        public mutating func next(isolation actor: isolated (any Actor)?) async -> BackendEvent? {
            await channel.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(channel: channel) }
}
