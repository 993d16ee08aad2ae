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

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Reader thread: queues `event`, blocking while the channel is full.
    func push(_ event: BackendEvent) {
        condition.lock()
        while queued.count - head >= capacity, !discarding { condition.wait() }
        if discarding {
            condition.unlock()
        } else if let waiter {
            self.waiter = nil
            condition.unlock()
            waiter.resume(returning: event)
        } else {
            queued.append(event)
            condition.unlock()
        }
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

    func next() async -> BackendEvent? {
        await withCheckedContinuation { continuation in
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
        if queued.count - head == capacity - 1 { condition.broadcast() }
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
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(channel: channel) }
}
