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
    @Option(help: "What to do with a client whose send queue fills: pause (stop reading it) or close (1008).")
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
    @OptionGroup(title: "wss:// (TLS)") var tls: TLSOptions

    func validate() throws {
        guard WaitMode(name: waitMode) != nil else { throw ValidationError("--wait-mode must be recv or poll (got \(waitMode))") }
        guard SlowClientPolicy(rawValue: slowClient) != nil else {
            throw ValidationError("--slow-client must be pause or close (got \(slowClient))")
        }
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
        if tls.tlsPort != nil { say("ringgate: listening for wss on \(host):\(gateway.tlsPort)") }
        say("ringgate: listening on \(host):\(tls.noPlain ? "-" : String(gateway.port)) with \(gateway.workerCount) workers, "
            + "\(gateway.tableSize) connections per worker; demo app: echo")
        SignalWaiter.waitForTermination(statsEvery: statsInterval, report: {
            say("ringgate: " + StatsLine.render(gateway))
        }, reload: {
            guard tls.tlsPort != nil else { return say("ringgate: SIGHUP: nothing to reload (no --tls-port)") }
            do {
                try gateway.reloadTLS()
                say("ringgate: TLS certificates reloaded")
            } catch {
                say("ringgate: TLS reload failed, keeping the old certificates: \(error)")
            }
        })
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
        tls.apply(to: &config.engine)
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
