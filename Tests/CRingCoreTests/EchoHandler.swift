import CRingCore
import RingEngine
import Synchronization

/// Counters a test reads while the workers run.
final class EchoCounters: Sendable {
    let opened = Atomic<Int>(0)
    let closed = Atomic<Int>(0)
    let closedWithError = Atomic<Int>(0)
    let mail = Atomic<Int>(0)
    let ticks = Atomic<Int>(0)
}

/// Echoes every byte back; used to test the core without any protocol above it.
final class EchoHandler: WorkerHandler {
    let counters: EchoCounters
    /// Park every connection on open and after each receive, so all data arrives while parked.
    let parksAlways: Bool

    init(_ counters: EchoCounters, parksAlways: Bool = false) {
        self.counters = counters
        self.parksAlways = parksAlways
    }

    func handle(_ events: UnsafeMutableBufferPointer<EngineEvent>, on worker: Worker) {
        for event in events {
            switch event.kind {
            case .open:
                counters.opened.add(1, ordering: .relaxed)
                if parksAlways { worker.park(event.connection) }
            case .data:
                let bytes = UnsafeRawBufferPointer(start: event.data, count: Int(event.result))
                if worker.send(event.connection, bytes) != nil {
                    worker.close(event.connection, .abort)
                } else if parksAlways {
                    worker.park(event.connection)
                }
            case .closed:
                counters.closed.add(1, ordering: .relaxed)
                if event.result < 0 { counters.closedWithError.add(1, ordering: .relaxed) }
            case .mail:
                counters.mail.add(Int(event.arg), ordering: .relaxed)
            case .tick:
                counters.ticks.add(1, ordering: .relaxed)
            default:
                break
            }
        }
    }
}

/// Starts an echo engine on an ephemeral port.
func startEcho(parksAlways: Bool = false, _ tweak: (inout EngineConfiguration) -> Void = { _ in }) throws -> (Engine, EchoCounters) {
    var config = EngineConfiguration()
    config.port = 0
    config.workers = 2
    config.maxConnections = 12_000
    tweak(&config)
    let engine = try Engine(config)
    let counters = EchoCounters()
    try engine.start { _ in EchoHandler(counters, parksAlways: parksAlways) }
    return (engine, counters)
}
