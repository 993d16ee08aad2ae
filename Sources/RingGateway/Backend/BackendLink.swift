import RingGateProtocol
import Synchronization

/// Events one thread queued for a link and the hub has not taken yet.
final class LinkOutbox: Sendable {
    let events = Mutex(LinkWriter(capacity: 16 << 10))
}

/// One application worker's link, shared by the hub (which owns the socket)
/// and the gateway threads (which queue events for it and route to it).
///
/// Each gateway thread queues into an outbox of its own, so no two gateway threads take the
/// same lock for a message; only the hub, taking a batch, meets each thread's lock. A
/// connection lives on one thread, so its events stay in order.
final class BackendLink: Sendable {
    /// Small and reused round-robin, so gateway threads can index a table by it.
    let id: UInt16
    let fd: Int32
    /// The worker's name from its HELLO; routing hashes it.
    let name: Mutex<String> = Mutex("")
    /// Events waiting for the hub to write them: one outbox per gateway thread, then the hub's.
    let outboxes: [LinkOutbox]
    /// Bytes in the outboxes plus those the hub holds but has not written.
    let queuedBytes = Atomic<Int>(0)
    /// Past the queue limit: gateway threads pause clients routed here.
    let congested = Atomic<Bool>(false)
    /// Connections routed here and not yet closed.
    let connections = Atomic<Int>(0)
    /// False once the link failed; gateway threads stop routing and forwarding.
    let alive = Atomic<Bool>(true)
    /// Events written to the worker's socket, and commands read from it (hub thread only
    /// writes them; `/metrics` reads them).
    let eventsWritten = Atomic<UInt64>(0)
    let commandsRead = Atomic<UInt64>(0)

    init(id: UInt16, fd: Int32, threads: Int) {
        self.id = id
        self.fd = fd
        outboxes = (0...threads).map { _ in LinkOutbox() }
    }

    /// The outbox of events the hub queues itself (HELLO).
    var hubOutbox: Int { outboxes.count - 1 }

    /// Appends one event built by `write` to `thread`'s outbox; the hub is woken by the caller
    /// once per batch. False, with nothing queued, once the link failed: `alive` is read under
    /// the outbox's lock, and the hub clears it before it takes each outbox's lock to count
    /// what it held, so every event is either in that count or refused here.
    @inline(__always)
    @discardableResult
    func queue(from thread: Int, _ write: (inout LinkWriter) -> Void) -> Bool {
        let added = outboxes[thread].events.withLock { writer -> Int? in
            guard alive.load(ordering: .relaxed) else { return nil }
            let before = writer.count
            write(&writer)
            return writer.count - before
        }
        guard let added else { return false }
        queuedBytes.add(added, ordering: .relaxed)
        return true
    }

    /// Marks the link failed and takes what its outboxes held, against `queue`.
    func fail() -> [UInt8] {
        alive.store(false, ordering: .releasing)
        var taken: [UInt8] = []
        for outbox in outboxes {
            outbox.events.withLock { events in
                taken.append(contentsOf: events.bytes)
                events.reset()
            }
        }
        return taken
    }
}
