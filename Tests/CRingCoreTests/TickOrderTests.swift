import CRingCore
import Glibc
import RingEngine
import Synchronization
import Testing

/// What the handler saw, batch by batch, for the test to read afterwards.
private final class TickOrderLog: Sendable {
    struct Seen {
        var batches: [[UInt8]] = []
        var opened: [ConnectionID] = []
        /// For each tick: was input pending on the parked connection, and had its data arrived yet.
        var parkedAtTick: [(pending: Bool, delivered: Bool)] = []
        var parked = false
        var parkedDelivered = false
    }

    let seen = Mutex(Seen())
}

/// Parks the third connection once it has been heard from (as the gateway parks an upgraded one);
/// stalls its loop on a "slow" message, as a long fan-out would.
private final class StallingHandler: WorkerHandler {
    let log: TickOrderLog

    init(_ log: TickOrderLog) { self.log = log }

    func handle(_ events: UnsafeMutableBufferPointer<EngineEvent>, on worker: Worker) {
        var kinds: [UInt8] = []
        for event in events {
            kinds.append(event.rawKind)
            switch event.kind {
            case .open:
                log.seen.withLock { $0.opened.append(event.connection) }
            case .data:
                let bytes = UnsafeRawBufferPointer(start: event.data, count: Int(event.result))
                if bytes.elementsEqual("slow".utf8) { usleep(80_000) }
                let parkNow = log.seen.withLock { seen in
                    guard seen.opened.count == 3, event.connection == seen.opened[2] else { return false }
                    if seen.parked { seen.parkedDelivered = true }
                    defer { seen.parked = true }
                    return !seen.parked
                }
                if parkNow { worker.park(event.connection) }
            case .tick:
                log.seen.withLock { seen in
                    guard seen.opened.count == 3 else { return }
                    seen.parkedAtTick.append((worker.inputPending(seen.opened[2]), seen.parkedDelivered))
                }
            default:
                break
            }
        }
        log.seen.withLock { $0.batches.append(kinds) }
    }
}

@Suite("Ticks after data")
struct TickOrderTests {
    @Test("a tick is handed up after the data that completed with it, and sees input the kernel announced")
    func tickComesLast() throws {
        var config = EngineConfiguration()
        config.port = 0
        config.workers = 1
        config.maxConnections = 16
        config.tickMs = 10
        let engine = try Engine(config)
        let log = TickOrderLog()
        try engine.start { _ in StallingHandler(log) }
        defer { engine.stop() }

        let clients = try (0..<3).map { _ in try #require(LoopbackClient(port: engine.port)) }
        defer { for client in clients { client.close() } }
        #expect(eventually { log.seen.withLock { $0.opened.count } == 3 })
        #expect(clients[2].send(Array("first".utf8)))
        #expect(eventually { log.seen.withLock { $0.parked } })
        usleep(20_000)
        // Stall the loop for 80 ms (8 ticks); meanwhile data reaches a busy and a parked connection.
        #expect(clients[0].send(Array("slow".utf8)))
        usleep(25_000)
        #expect(clients[1].send(Array("busy".utf8)))
        #expect(clients[2].send(Array("parked".utf8)))
        #expect(eventually { log.seen.withLock { $0.parkedDelivered } })
        usleep(50_000)

        let seen = log.seen.withLock { $0 }
        // Within a batch, no data event follows a tick.
        for kinds in seen.batches {
            if let tick = kinds.firstIndex(of: EngineEvent.Kind.tick.rawValue) {
                #expect(!kinds[tick...].contains(EngineEvent.Kind.data.rawValue), "batch \(kinds)")
            }
        }
        // A tick between the parked connection's poll and its recv saw the input as pending;
        // once delivered, nothing is pending.
        #expect(seen.parkedAtTick.contains { $0.pending && !$0.delivered })
        #expect(seen.parkedAtTick.last.map { !$0.pending && $0.delivered } == true)
    }
}
