public import RingEngine
import RingWebSocket
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Why the gateway could not start: one line naming the cause.
public struct GatewayError: Error, CustomStringConvertible, Sendable {
    /// Whose fix it is: a setting that cannot work, or the system at run time.
    public enum Cause: Sendable {
        /// A value that can never work as given (an unknown group, a path that is not a socket):
        /// `ringgate` exits with status 2, as for a bad value on the command line.
        case settings
        /// Something the settings cannot fix by themselves (a port or socket in use, no memory).
        case system
    }

    public let description: String
    public var cause = Cause.system

    public init(description: String, cause: Cause = .system) {
        self.description = description
        self.cause = cause
    }
}

/// RingGate: the engine plus one WebSocket layer per worker.
public final class Gateway: @unchecked Sendable {
    // @unchecked: `workers` is written once in start() before any reader can see it.
    public let configuration: GatewayConfiguration
    let engine: Engine
    private(set) var workers: [GatewayWorker] = []
    /// Set once a drain began; see Gateway+Drain.swift.
    let draining = Atomic<Bool>(false)
    private var hub: BackendHub?

    public init(_ configuration: GatewayConfiguration) throws(GatewayError) {
        let problems = configuration.problems()
        guard problems.isEmpty else { throw GatewayError(description: problems.joined(separator: "; "), cause: .settings) }
        var engineConfiguration = configuration.engine
        engineConfiguration.tickMs = configuration.tickMs
        var configuration = configuration
        if !configuration.backend.isEnabled {
            // Only workers read forwarded headers: the demo app skips copying them per upgrade.
            configuration.handshake.forwardedHeaderNames = []
        } else {
            // Workers see these headers in OPEN; routing may hash one of them.
            var names = configuration.backend.forwardedHeaders
            names.append("sec-websocket-protocol")
            if case .headerHash(let name) = configuration.backend.route { names.append(name) }
            var seen = Set<String>()
            configuration.handshake.forwardedHeaderNames = names.map { $0.lowercased() }.filter { seen.insert($0).inserted }
        }
        self.configuration = configuration
        do {
            engine = try Engine(engineConfiguration)
        } catch {
            throw GatewayError(description: error.message)
        }
        if configuration.backend.isEnabled {
            hub = try BackendHub(
                configuration: configuration.backend, workers: engine.workerCount, tableSize: engine.tableSize,
                gatewayID: "ringgate-\(getpid())"
            )
        }
    }

    /// Starts the workers; returns once each has its ring.
    public func start() throws(GatewayError) {
        let tableSize = engine.tableSize
        var made: [GatewayWorker] = []
        let hub = hub
        var inboxes: [WorkerInbox] = []
        do {
            try engine.start { worker in
                let context = hub.map { hub -> BackendContext in
                    let inbox = WorkerInbox(worker: worker)
                    inboxes.append(inbox)
                    return BackendContext(hub: hub, inbox: inbox, workerIndex: worker.index)
                }
                let handler = GatewayWorker(
                    configuration: configuration, worker: worker, tableSize: tableSize, backend: context,
                    clock: .monotonic(tickMs: configuration.tickMs)
                )
                made.append(handler)
                return handler
            }
        } catch {
            throw GatewayError(description: error.message)
        }
        workers = made
        try hub?.start(inboxes: inboxes)
    }

    /// Stops the workers; the counters then include everything up to the stop.
    public func stop() {
        hub?.stop()
        engine.stop()
        // The worker threads have exited, so their counters can be read here.
        for worker in workers { worker.publishCounters() }
    }

    public var port: UInt16 { engine.port }
    /// The bound wss:// port, or 0 without TLS.
    public var tlsPort: UInt16 { engine.tlsPort }

    /// Reloads the TLS certificates for new connections (SIGHUP in `ringgate`): from the same
    /// files, or from `configuration` when its files or settings changed.
    public func reloadTLS(_ configuration: TLSConfiguration? = nil) throws(GatewayError) {
        do {
            try engine.reloadTLS(configuration)
        } catch {
            throw GatewayError(description: error.message)
        }
    }
    /// Applies `fresh`'s reloadable limits (GatewayConfiguration.reloading(from:)): the
    /// connection limit in the core at once, the per-connection ones on each worker's thread at
    /// its next batch. Returns the connection limit in force, which the tables' size caps.
    public func reloadLimits(_ fresh: GatewayConfiguration) -> UInt32 {
        let limits = ConnectionLimits(configuration.reloading(from: fresh))
        for index in workers.indices {
            workers[index].reloadedLimits.withLock { $0 = limits }
            // A full mailbox empties within a batch; every worker must get the new limits.
            while !engine.worker(index).post(tag: GatewayMail.limits, nil) { usleep(1000) }
        }
        return engine.setMaxConnections(fresh.engine.maxConnections)
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

    /// The worker link's counters: the hub's plus every thread's.
    public var backendCounters: BackendCounters? {
        guard let hub else { return nil }
        var sum = hub.counterSnapshot
        for worker in workers { sum.add(worker.publishedBackend.withLock { $0 }) }
        return sum
    }

    /// The open worker links past HELLO, in the order they said it.
    public var backendLinks: [BackendLinkState] {
        hub?.directory.links.filter { $0.alive.load(ordering: .acquiring) }.map(BackendLinkState.init) ?? []
    }

    /// The core's counters, summed over workers.
    public var coreStats: EngineStats { engine.stats }
}
