import RingGateway
import Logging
import RingEngine
import RingTopics
import RingWebSocket

// Every configuration key, in `--help` order. A new key is one entry here: its kind, its place in
// ServiceConfiguration, and one line of help. Ranges are what the gateway accepts; values outside
// them are refused at start-up with a message naming the key and the range.
extension SettingKey {
    public static let all: [SettingKey] = [
        // Listening
        .address("host", \.gateway.engine.host, "Address to listen on (IPv4 or IPv6 literal)."),
        .integer("port", \.gateway.engine.port, 0...65535, hint: "<port>", "TCP port to listen on (0 picks a free one and prints it)."),
        .integer("workers", \.gateway.engine.workers, 1...4096, "Worker threads, each with its own io_uring; may exceed the core count."),
        .integer("max-connections", \.gateway.engine.maxConnections, 1...100_000_000, reloadable: true,
                 "Connections the gateway holds at most, across workers (on SIGHUP, up to what the tables sized at start hold)."),
        .integer("backlog", \.gateway.engine.backlog, 1...1_048_576, "Listen backlog per worker (capped by net.core.somaxconn)."),
        .flag("no-pin", \.noPin, "Do not pin workers to CPUs."),
        // wss:// (TLS); the certificate keys are re-read on SIGHUP
        .optionalPort("tls-port", \.tls.port, "TCP port serving wss:// beside port (0 picks a free one and prints it; unset: no wss://)."),
        .file("tls-cert", \.tls.certificateChainFile, reloadable: true, "PEM certificate chain for wss://, leaf first; re-read on SIGHUP."),
        .file("tls-key", \.tls.privateKeyFile, reloadable: true, "PEM private key of tls-cert; re-read on SIGHUP."),
        .parsedList("tls-sni-cert", \.tls.sniCertificates, hint: "<name=cert.pem,key.pem>",
                    allowed: "name=cert.pem,key.pem entries (name may be *.example.com)", reloadable: true,
                    parse: TLSSettings.sniEntries, describe: TLSSettings.describe,
                    "Extra certificate for clients whose SNI names `name` (*.example.com matches one label)."),
        .parsed("tls-ciphers", \.tls.ciphers, hint: "<openssl-list>", allowed: "an OpenSSL cipher list", reloadable: true,
                parse: { $0.isEmpty ? nil : $0 }, describe: { $0 ?? "(ECDHE with AES-GCM or ChaCha20)" },
                "TLS 1.2 cipher list in OpenSSL syntax."),
        .parsed("tls-ciphersuites", \.tls.ciphersuites, hint: "<openssl-list>", allowed: "an OpenSSL TLS 1.3 suite list",
                reloadable: true, parse: { $0.isEmpty ? nil : $0 }, describe: { $0 ?? "(OpenSSL's)" },
                "TLS 1.3 cipher suites in OpenSSL syntax."),
        .choice("tls-min-version", \.tls.minimumVersion, [("1.2", .v1_2), ("1.3", .v1_3)], reloadable: true,
                "Lowest TLS version accepted."),
        .flag("no-plain", \.tls.noPlain, "Serve only wss:// (no plain listener on port)."),
        // Buffers and queues
        .integer("buffer-size", \.gateway.engine.receiveBufferBytes, 0...1_048_576, hint: "<bytes>", "Bytes per receive buffer (at least 64); 0, the default: 65536 where the kernel consumes buffers incrementally (Linux 6.12), else 4096."),
        .powerOfTwo("buffer-count", \.gateway.engine.receiveBufferCount, 0...32768, "Receive buffers per worker (a power of two); 0, the default: 64 with incremental consumption, else 1024."),
        .choice("wait-mode", \.gateway.engine.waitMode, [("recv", .multishotRecv), ("poll", .poll)],
                "How idle connections wait: multishot recv, or multishot poll."),
        .integer("batch-wait-us", \.gateway.engine.batchWaitMicroseconds, 0...100_000, hint: "<us>",
                 "Once a completion arrives, wait up to this long for more before waking (Linux 6.12; 0: wake at once)."),
        .integer("send-queue-limit", \.gateway.engine.sendQueueLimitBytes, 1...UInt32.max, hint: "<bytes>", "Send queue limit per connection."),
        .integer("send-pool", \.gateway.engine.sendPoolBytesPerWorker, 0...UInt32.max, hint: "<bytes>", "Send-chunk budget per worker (at least 32768); 0, the default, sizes it from --max-connections and the receive buffers."),
        .choice("slow-client", \.gateway.slowClientPolicy, [("pause", .pause), ("close", .close), ("drop", .drop)],
                "A client whose send queue fills: stop reading it, close it, or drop its oldest queued messages."),
        .choice("slow-client-close-code", \.gateway.slowClientCloseCode, [("1008", .policyViolation), ("1013", .tryAgainLater)],
                "Close code of slow-client close: 1008 (the client does not read) or 1013 (try again later)."),
        .integer("rate-limit-messages", \.gateway.rateLimitMessages, 0...UInt32.max, reloadable: true,
                 "Messages per second a client may send (0: no limit); past it, close 1008."),
        .integer("rate-limit-bytes", \.gateway.rateLimitBytes, 0...UInt32.max, hint: "<bytes>", reloadable: true,
                 "Payload bytes per second a client may send (0: no limit); past it, close 1008."),
        // WebSocket limits
        .integer("max-message-size", \.gateway.frames.maxMessageBytes, 1...(1 << 30), hint: "<bytes>", reloadable: true,
                 "Largest message accepted (1009 above it)."),
        .integer("max-header-size", \.gateway.handshake.maxHeaderBytes, 16...(1 << 20), hint: "<bytes>", reloadable: true,
                 "Largest HTTP request head (431 above it)."),
        .list("allowed-origin", \.gateway.handshake.allowedOrigins, "Allowed Origin (repeatable); none means any origin."),
        .list("subprotocol", \.gateway.handshake.subprotocols, "Supported subprotocol, most preferred first (repeatable)."),
        // Timers
        .seconds("ping-interval", \.gateway.pingIntervalMs, allowsZero: false, reloadable: true, "Client silence before a ping."),
        .seconds("pong-timeout", \.gateway.pongTimeoutMs, allowsZero: false, reloadable: true, "Time after a ping before a silent client is dropped."),
        .seconds("idle-timeout", \.gateway.idleTimeoutMs, allowsZero: true, reloadable: true, "Time without a data message before closing with 1001 (0: off)."),
        .seconds("park-after", \.gateway.parkAfterMs, allowsZero: true, "Connections wait with a poll once upgraded; one heard from within this turns back to an armed recv until this long in silence (0: never park)."),
        .seconds("handshake-timeout", \.gateway.handshakeTimeoutMs, allowsZero: false, reloadable: true, "Time a client has to complete the HTTP upgrade."),
        .seconds("close-timeout", \.gateway.closeTimeoutMs, allowsZero: false, reloadable: true, "Time the peer has to answer our close frame."),
        .integer("tick-ms", \.gateway.tickMs, 1...10_000, hint: "<ms>", "Timer tick in milliseconds."),
        .powerOfTwo("wheel-slots", \.gateway.wheelSlots, 1...(1 << 24), "Slots in each worker's timing wheel (a power of two)."),
        // Application workers (docs/PROTOCOL.md)
        .path("backend-socket", \.gateway.backend.socketPath, "Unix socket application workers connect to; unset: the demo app serves every client."),
        .parsed("backend-socket-mode", \.gateway.backend.socketMode, hint: "<octal>", allowed: "an octal file mode from 000 to 777",
                parse: { text in UInt32(text, radix: 8).flatMap { $0 <= 0o777 ? $0 : nil } }, describe: { String($0, radix: 8) },
                "File mode of the backend socket."),
        .parsed("backend-socket-group", \.gateway.backend.socketGroup, hint: "<group>", allowed: "a group name",
                parse: { $0.isEmpty ? nil : $0 }, describe: { $0 ?? "(the gateway's)" }, "Group owning the backend socket."),
        .parsed("route", \.gateway.backend.route, hint: "least-loaded|hash:header:NAME|hash:path:N",
                allowed: "least-loaded, hash:header:NAME or hash:path:N", parse: { RoutePolicy(name: $0) }, describe: { $0.name },
                "How a connection picks its application worker (sticky for its life)."),
        .choice("no-worker", \.gateway.backend.noWorker, NoWorkerPolicy.allCases.map { ($0.rawValue, $0) },
                "With no worker connected: refuse upgrades (503) or serve them with the demo app."),
        .choice("on-worker-loss", \.gateway.backend.onWorkerLoss, WorkerLossPolicy.allCases.map { ($0.rawValue, $0) },
                "When a worker's link fails, its connections move to another worker or close (1011)."),
        .list("backend-header", \.gateway.backend.forwardedHeaders, "Request header forwarded to workers in OPEN (repeatable)."),
        .integer("backend-queue-limit", \.gateway.backend.linkQueueLimitBytes, (64 << 10)...(1 << 30), hint: "<bytes>",
                 "Events queued for one worker before its clients are paused."),
        .seconds("backend-hello-timeout", \.gateway.backend.helloTimeoutMs, allowsZero: false,
                 "Time a worker has to send HELLO after connecting; past it the link closes with ERROR 7."),
        .seconds("backend-frame-timeout", \.gateway.backend.frameTimeoutMs, allowsZero: false,
                 "Time a worker may take to finish a frame it began; past it the link closes with ERROR 7."),
        .integer("max-topics", \.gateway.backend.maxTopics, 1...100_000_000, "Topics in use at most (a topic with no subscriber, pending subscribe or history is removed)."),
        .integer("fanout-batch", \.gateway.backend.fanoutBatch, 1...1_000_000, "Fan-out deliveries per loop turn and thread."),
        .list("client-topics", \.gateway.backend.clientTopicPrefixes,
              "Topic prefix clients may subscribe themselves to by a control message (repeatable; none: off)."),
        .integer("client-topics-max", \.gateway.backend.clientTopicsMax, 1...65_535,
                 "Subscriptions a connection may hold when it subscribes itself."),
        // Operations
        .address("admin-host", \.adminHost, "Address of the admin server (/metrics, /healthz, /readyz)."),
        .optionalPort("admin-port", \.adminPort, "Port of the admin server (0 picks a free one and prints it; unset: no admin server)."),
        .choice("log-level", \.logLevel, Logger.Level.allCases.map { ("\($0)", $0) }, reloadable: true, "Least severe log level written."),
        .seconds("stats-interval", \.statsIntervalMs, allowsZero: true, reloadable: true, "Time between stats lines on stderr (0: only at exit)."),
        .seconds("drain-window", \.drainWindowMs, allowsZero: true, reloadable: true, "On SIGTERM or restart, closes with 1001/1012 are spread over this window."),
        .seconds("drain-timeout", \.drainTimeoutMs, allowsZero: true, reloadable: true, "A drain ends this long after it began even if connections remain."),
        .path("control-socket", \.controlSocket, "Unix socket on which this process hands its listeners to a new one (zero-downtime restart)."),
        .path("takeover", \.takeover, "Take the listeners over from the gateway whose control socket is at this path, then make it drain."),
    ]

    /// The key called `name`, if any.
    public static func named(_ name: String) -> SettingKey? { all.first { $0.name == name } }
}

extension ServiceConfiguration {
    /// `no-pin` is the negation of the engine's `pinsCPUs`.
    var noPin: Bool {
        get { !gateway.engine.pinsCPUs }
        set { gateway.engine.pinsCPUs = !newValue }
    }
}
