import ArgumentParser
import RingEngine
import RingGateway
import RingWebSocket
#if canImport(Glibc)
import Glibc
#endif

@main
struct RingGateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ringgate",
        abstract: "A WebSocket gateway on io_uring.",
        discussion: """
            Without a backend, the built-in demo application echoes every message to its sender.
            GET /healthz answers 200. Durations are in seconds; fractions are allowed.
            """
    )

    @Option(help: "Address to listen on (IPv4 or IPv6 literal).") var host = "127.0.0.1"
    @Option(help: "TCP port to listen on (0 picks a free one and prints it).") var port: UInt16 = 8080
    @Option(help: "Worker threads, each with its own io_uring; may exceed the core count.") var workers: UInt32 = 2
    @Option(help: "Connections the gateway holds at most, across workers.") var maxConnections: UInt32 = 10_000
    @Option(help: "Bytes per receive buffer.") var bufferSize: UInt32 = 4096
    @Option(help: "Receive buffers per worker (a power of two).") var bufferCount: UInt32 = 1024
    @Option(help: "How idle connections wait: recv (multishot recv) or poll (multishot poll).") var waitMode = "recv"
    @Option(help: "Send queue limit per connection, in bytes.") var sendQueueLimit: UInt32 = 1 << 20
    @Option(help: "Send-chunk memory per worker, in bytes.") var sendPool: UInt32 = 16 << 20
    @Option(help: "What to do with a client whose send queue fills: pause (stop reading it), close (1008) or drop (the message).")
    var slowClient = "pause"
    @Option(help: "Largest message accepted, in bytes (1009 above it).") var maxMessageSize = 16 << 20
    @Option(help: "Largest HTTP request head, in bytes (431 above it).") var maxHeaderSize = 8192
    @Option(help: "Allowed Origin (repeatable); none means any origin.") var allowedOrigin: [String] = []
    @Option(help: "Supported subprotocol, most preferred first (repeatable).") var subprotocol: [String] = []
    @Option(help: "Seconds of client silence before a ping.") var pingInterval = 25.0
    @Option(help: "Seconds after a ping before a silent client is dropped.") var pongTimeout = 10.0
    @Option(help: "Seconds without a data message before closing with 1001 (0: off).") var idleTimeout = 0.0
    @Option(help: "Seconds of silence after which a connection is parked (poll instead of an armed recv; 0: never).")
    var parkAfter = 10.0
    @Option(help: "Seconds a client has to complete the HTTP upgrade.") var handshakeTimeout = 10.0
    @Option(help: "Seconds the peer has to answer our close frame.") var closeTimeout = 5.0
    @Option(help: "Timer tick in milliseconds.") var tickMs: UInt32 = 100
    @Option(help: "Slots in each worker's timing wheel (a power of two).") var wheelSlots = 4096
    @Option(help: "Seconds between stats lines on stderr (0: off).") var statsInterval = 0.0
    @Flag(help: "Do not pin workers to CPUs.") var noPin = false
    @Option(help: "Unix socket application workers connect to (docs/PROTOCOL.md); without it the demo app serves.")
    var backendSocket: String?
    @Option(help: "File mode of the backend socket, octal.") var backendSocketMode = "660"
    @Option(help: "Group owning the backend socket.") var backendSocketGroup: String?
    @Option(help: "Routing of connections to workers: least-loaded, hash:header:NAME or hash:path:N.") var route = "least-loaded"
    @Option(help: "With no worker connected: refuse (503) or demo (the built-in echo).") var noWorker = "refuse"
    @Option(help: "When a worker's link fails, its connections: move (to another worker) or close (1011).")
    var onWorkerLoss = "move"
    @Option(help: "Request header forwarded to workers in OPEN (repeatable; replaces the default list).")
    var backendHeader: [String] = []
    @Option(help: "Events queued per worker before its clients are paused, in bytes.") var backendQueueLimit = 4 << 20
    @Option(help: "Topics at most.") var maxTopics = 100_000
    @Option(help: "Fan-out deliveries per loop turn and thread, so a big broadcast interleaves with other work.")
    var fanoutBatch = 4096
    @Option(help: "Messages per second a client may send (0: no limit); past it, close 1008.") var rateLimitMessages: UInt32 = 0
    @Option(help: "Payload bytes per second a client may send (0: no limit); past it, close 1008.") var rateLimitBytes: UInt32 = 0

    func validate() throws {
        guard WaitMode(name: waitMode) != nil else { throw ValidationError("--wait-mode must be recv or poll (got \(waitMode))") }
        guard SlowClientPolicy(rawValue: slowClient) != nil else {
            throw ValidationError("--slow-client must be pause, close or drop (got \(slowClient))")
        }
        guard RoutePolicy(name: route) != nil else {
            throw ValidationError("--route must be least-loaded, hash:header:NAME or hash:path:N (got \(route))")
        }
        guard NoWorkerPolicy(rawValue: noWorker) != nil else { throw ValidationError("--no-worker must be refuse or demo (got \(noWorker))") }
        guard WorkerLossPolicy(rawValue: onWorkerLoss) != nil else {
            throw ValidationError("--on-worker-loss must be move or close (got \(onWorkerLoss))")
        }
        guard let mode = UInt32(backendSocketMode, radix: 8), mode <= 0o777 else {
            throw ValidationError("--backend-socket-mode must be an octal file mode such as 660 (got \(backendSocketMode))")
        }
        _ = mode
        guard backendQueueLimit >= 64 << 10 else { throw ValidationError("--backend-queue-limit must be at least 65536 bytes") }
        guard fanoutBatch >= 1 else { throw ValidationError("--fanout-batch must be at least 1") }
        guard maxTopics >= 1 else { throw ValidationError("--max-topics must be at least 1") }
        for (name, value) in [("ping-interval", pingInterval), ("pong-timeout", pongTimeout), ("handshake-timeout", handshakeTimeout),
                              ("close-timeout", closeTimeout), ("idle-timeout", idleTimeout), ("stats-interval", statsInterval),
                              ("park-after", parkAfter)]
        where !(value >= 0 && value < 86_400 * 30) {
            throw ValidationError("--\(name) must be between 0 and 2592000 seconds (got \(value))")
        }
    }

    func run() throws {
        SignalWaiter.blockTerminationSignals()  // before any worker thread exists
        let gateway: Gateway
        do {
            gateway = try Gateway(configuration())
            try gateway.start()
        } catch {
            say("ringgate: \(error)")
            throw ExitCode.failure
        }
        if !gateway.notes.isEmpty { say("ringgate: \(gateway.notes)") }
        let application = backendSocket.map { "application workers on \($0)" } ?? "demo app: echo"
        say("ringgate: listening on \(host):\(gateway.port) with \(gateway.workerCount) workers, "
            + "\(gateway.tableSize) connections per worker; \(application)")
        SignalWaiter.waitForTermination(statsEvery: statsInterval) {
            say("ringgate: " + StatsLine.render(gateway))
        }
        say("ringgate: stopping")
        gateway.stop()
        say("ringgate: " + StatsLine.render(gateway))
    }

    private func configuration() -> GatewayConfiguration {
        var config = GatewayConfiguration()
        config.engine.host = host
        config.engine.port = port
        config.engine.workers = workers
        config.engine.maxConnections = maxConnections
        config.engine.receiveBufferBytes = bufferSize
        config.engine.receiveBufferCount = bufferCount
        config.engine.waitMode = WaitMode(name: waitMode) ?? .multishotRecv
        config.engine.sendQueueLimitBytes = sendQueueLimit
        config.engine.sendPoolBytesPerWorker = sendPool
        config.engine.pinsCPUs = !noPin
        config.slowClientPolicy = SlowClientPolicy(rawValue: slowClient) ?? .pause
        config.frames = FrameLimits(maxMessageBytes: maxMessageSize)
        config.handshake = HandshakePolicy(
            maxHeaderBytes: max(16, maxHeaderSize), allowedOrigins: allowedOrigin, subprotocols: subprotocol
        )
        config.tickMs = tickMs
        config.wheelSlots = wheelSlots
        config.pingIntervalMs = milliseconds(pingInterval)
        config.pongTimeoutMs = milliseconds(pongTimeout)
        config.idleTimeoutMs = milliseconds(idleTimeout)
        config.handshakeTimeoutMs = milliseconds(handshakeTimeout)
        config.parkAfterMs = milliseconds(parkAfter)
        config.closeTimeoutMs = milliseconds(closeTimeout)
        config.backend.socketPath = backendSocket
        config.backend.socketMode = UInt32(backendSocketMode, radix: 8) ?? 0o660
        config.backend.socketGroup = backendSocketGroup
        config.backend.route = RoutePolicy(name: route) ?? .leastLoaded
        config.backend.noWorker = NoWorkerPolicy(rawValue: noWorker) ?? .refuse
        config.backend.onWorkerLoss = WorkerLossPolicy(rawValue: onWorkerLoss) ?? .move
        if !backendHeader.isEmpty { config.backend.forwardedHeaders = backendHeader.map { $0.lowercased() } }
        config.backend.linkQueueLimitBytes = backendQueueLimit
        config.backend.maxTopics = maxTopics
        config.backend.fanoutBatch = fanoutBatch
        config.rateLimitMessages = rateLimitMessages
        config.rateLimitBytes = rateLimitBytes
        return config
    }

    private func milliseconds(_ seconds: Double) -> UInt32 { UInt32((seconds * 1000).rounded(.up)) }
}

extension WaitMode {
    init?(name: String) {
        switch name {
        case "recv": self = .multishotRecv
        case "poll": self = .poll
        default: return nil
        }
    }
}

/// Writes one line to stderr.
func say(_ line: String) {
    let text = line + "\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
}
