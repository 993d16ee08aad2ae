public import CRingCore
import RingEngine
import Synchronization

/// Why the gateway could not start: one line naming the cause.
public struct GatewayError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// RingGate: the engine plus one WebSocket layer per worker.
public final class Gateway: @unchecked Sendable {
    // @unchecked: `workers` is written once in start() before any reader can see it.
    public let configuration: GatewayConfiguration
    private let engine: Engine
    private var workers: [GatewayWorker] = []

    public init(_ configuration: GatewayConfiguration) throws(GatewayError) {
        let problems = configuration.problems()
        guard problems.isEmpty else { throw GatewayError(description: problems.joined(separator: "; ")) }
        var engineConfiguration = configuration.engine
        engineConfiguration.tickMs = configuration.tickMs
        self.configuration = configuration
        do {
            engine = try Engine(engineConfiguration)
        } catch {
            throw GatewayError(description: error.message)
        }
    }

    /// Starts the workers; returns once each has its ring.
    public func start() throws(GatewayError) {
        let tableSize = engine.tableSize
        var made: [GatewayWorker] = []
        do {
            try engine.start { worker in
                let handler = GatewayWorker(configuration: configuration, worker: worker, tableSize: tableSize)
                made.append(handler)
                return handler
            }
        } catch {
            throw GatewayError(description: error.message)
        }
        workers = made
    }

    /// Stops the workers; the counters then include everything up to the stop.
    public func stop() {
        engine.stop()
        // The worker threads have exited, so their counters can be read here.
        for worker in workers { worker.publishCounters() }
    }

    public var port: UInt16 { engine.port }
    /// The bound wss:// port, or 0 without TLS.
    public var tlsPort: UInt16 { engine.tlsPort }

    /// Reloads the TLS certificates from their files for new connections (SIGHUP in `ringgate`).
    public func reloadTLS() throws(GatewayError) {
        do {
            try engine.reloadTLS()
        } catch {
            throw GatewayError(description: error.message)
        }
    }
    public var workerCount: Int { engine.workerCount }
    public var tableSize: Int { engine.tableSize }
    public var notes: String { engine.notes }

    /// The WebSocket layer's counters, summed over workers (as of their last tick).
    public var counters: GatewayCounters {
        var sum = GatewayCounters()
        for worker in workers { sum.add(worker.published.withLock { $0 }) }
        return sum
    }

    /// The core's counters, summed over workers.
    public var coreStats: rg_stats { engine.stats }
}
