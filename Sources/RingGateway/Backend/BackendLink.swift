import RingGateProtocol
import Synchronization

/// One application worker's link, shared by the hub (which owns the socket)
/// and the gateway threads (which queue events for it and route to it).
final class BackendLink: Sendable {
    /// Small and reused round-robin, so gateway threads can index a table by it.
    let id: UInt16
    let fd: Int32
    /// The worker's name from its HELLO; routing hashes it.
    let name: Mutex<String> = Mutex("")
    /// Events waiting for the hub to write them.
    let outbox = Mutex(LinkWriter(capacity: 64 << 10))
    /// Bytes in `outbox` plus those the hub holds but has not written.
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

    init(id: UInt16, fd: Int32) {
        self.id = id
        self.fd = fd
    }

    /// Appends one event built by `write`; the hub is woken by the caller once per batch.
    /// False, with nothing queued, once the link failed: `alive` is read under the outbox's
    /// lock, which the hub holds when it fails the link and counts what the outbox held, so
    /// every event is either in that count or refused here.
    @inline(__always)
    @discardableResult
    func queue(_ write: (inout LinkWriter) -> Void) -> Bool {
        let added = outbox.withLock { writer -> Int? in
            guard alive.load(ordering: .relaxed) else { return nil }
            let before = writer.count
            write(&writer)
            return writer.count - before
        }
        guard let added else { return false }
        queuedBytes.add(added, ordering: .relaxed)
        return true
    }

    /// Marks the link failed and takes what its outbox held, in one step against `queue`.
    func fail() -> [UInt8] {
        outbox.withLock { outbox in
            alive.store(false, ordering: .releasing)
            let taken = outbox.bytes
            outbox.reset()
            return taken
        }
    }
}
