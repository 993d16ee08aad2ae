import Logging
import RingEngine
import RingGateService
import RingGateway
import RingWebSocket
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One run of the gateway: start (binding, or taking the listeners over from a running process),
/// serve, reload on SIGHUP, drain on SIGTERM or when a successor took over, then stop.
///
/// Signals are blocked in every thread (workers inherit the mask) and taken here with
/// sigtimedwait, so no handler ever runs on a worker.
final class Service {
    private var settings: ServiceConfiguration
    private let arguments: [String]
    private let logger = Logger(label: "ringgate")
    /// Set by the control thread when a successor serves; SIGUSR2 wakes the main thread.
    private static let handedOver = Atomic<Bool>(false)
    private var gateway: Gateway!
    private var admin: AdminServer?
    private var control: ControlServer?
    private var drainDeadlineMs: UInt64?

    init(settings: ServiceConfiguration, arguments: [String]) {
        self.settings = settings
        self.arguments = arguments
    }

    /// Runs until drained or stopped; returns the exit status.
    func run() -> Int32 {
        Signals.block()  // before any thread exists
        do {
            try start()
        } catch {
            logger.error("\(error)")
            return error.cause == .settings ? 2 : 1  // 2, as for a bad value on the command line
        }
        serve()
        logger.info("stopping")
        control?.stop()
        admin?.stop()
        gateway.stop()
        logger.info("\(StatsLine.render(gateway))")
        return 0
    }

    private func start() throws(GatewayError) {
        let handover = try settings.takeover.map { path throws(GatewayError) in try ListenerHandover(path: path) }
        var configuration = settings.gateway
        // Before the rings exist: a limit that makes their setup fail is explained first.
        for problem in HostCheck(engine: configuration.engine).problems() { logger.warning("\(problem)") }
        configuration.engine.inheritedListenerFDs = handover?.listenerFDs ?? []
        configuration.engine.inheritedTLSListenerFDs = handover?.tlsListenerFDs ?? []
        gateway = try Gateway(configuration)
        try gateway.start()
        if !gateway.notes.isEmpty { logger.notice("\(gateway.notes)") }
        let gateway = self.gateway!
        if settings.adminPort != nil || handover?.adminFD != nil {
            let server = try AdminServer(host: settings.adminHost, port: settings.adminPort ?? 0,
                                         inheritedFD: handover?.adminFD) { path in AdminRoutes.respond(path, gateway) }
            server.start()
            admin = server
            logger.info("admin on \(settings.adminHost):\(server.port)")
            if !isLoopback(settings.adminHost) {
                logger.warning("""
                    the admin server listens on \(settings.adminHost), beyond loopback, and has no authentication: \
                    anyone who reaches that address reads /metrics and can see the gateway draining; \
                    keep it on 127.0.0.1 or ::1, or firewall it
                    """)
            }
        }
        let host = configuration.engine.host
        let origin = handover == nil ? "" : "; took over from the running gateway"
        let application = configuration.backend.socketPath.map { "application workers on \($0)" } ?? "demo app: echo"
        if configuration.engine.tls != nil { logger.info("listening for wss on \(host):\(gateway.tlsPort)") }
        let plainPort = configuration.engine.servesPlain ? "\(gateway.port)" : "-"
        logger.info("""
            listening on \(host):\(plainPort) with \(gateway.workerCount) workers, \
            \(gateway.tableSize) connections per worker; \(application)\(origin)
            """)
        if let handover {
            try handover.confirm()
            gateway.rearmAccepts()  // the old process has stopped accepting: take what it left queued
        }
        if let path = settings.controlSocket {
            let server = try ControlServer(path: path)
            let admin = self.admin
            server.start(offer: { (gateway.listenerFDs, gateway.tlsListenerFDs, admin?.listenerFD) }, handedOver: {
                gateway.stopAccepting()  // before the successor hears "draining" and re-arms its accepts
                Service.handedOver.store(true, ordering: .releasing)
                kill(getpid(), SIGUSR2)
            })
            control = server
        }
    }

    /// The signal loop: stats lines, reloads, and the drain until it ends.
    private func serve() {
        var nextStatsMs = Signals.nowMs() + UInt64(settings.statsIntervalMs)
        while true {
            let nowMs = Signals.nowMs()
            var waitMs: UInt64 = settings.statsIntervalMs > 0 ? (nextStatsMs > nowMs ? nextStatsMs - nowMs : 0) : 3_600_000
            if drainDeadlineMs != nil { waitMs = min(waitMs, 20) }
            switch Signals.wait(milliseconds: waitMs) {
            case SIGTERM, SIGINT:
                if drainDeadlineMs != nil { return }  // a second signal: stop now
                beginDrain(code: .goingAway)
            case SIGHUP:
                reload()
            case SIGUSR2 where Service.handedOver.load(ordering: .acquiring):
                admin?.stop()  // the successor serves the admin port now
                admin = nil
                beginDrain(code: .serviceRestart)
            default:
                break
            }
            if settings.statsIntervalMs > 0, Signals.nowMs() >= nextStatsMs {
                logger.info("\(StatsLine.render(gateway))")
                nextStatsMs = Signals.nowMs() + UInt64(settings.statsIntervalMs)
            }
            if let deadline = drainDeadlineMs {
                let open = gateway.openConnections
                if open == 0 {
                    logger.info("drained: no connections remain")
                    return
                }
                if Signals.nowMs() >= deadline {
                    logger.warning("drain timeout: closing the \(open) connections that remain")
                    return
                }
            }
        }
    }

    private func beginDrain(code: CloseCode) {
        drainDeadlineMs = Signals.nowMs() + UInt64(settings.drainTimeoutMs)
        logger.info("draining: closing connections with \(code.rawValue) over \(Double(settings.drainWindowMs) / 1000) s",
                    metadata: ["open": "\(gateway.openConnections)", "timeout_s": "\(Double(settings.drainTimeoutMs) / 1000)"])
        gateway.drain(code: code, windowMs: settings.drainWindowMs)
    }

    /// Re-reads the settings and applies those that can change while running (the keys marked
    /// reloadable; ServiceConfiguration.reloading(from:)); the others are named and wait for a
    /// restart (--takeover). One line says which changed keys applied and which did not.
    private func reload() {
        let fresh: ServiceConfiguration
        do {
            fresh = try SettingsLoader.load(arguments: arguments, environment: processEnvironment())
        } catch {
            logger.error("reload refused, keeping the running settings: \(error)")
            return
        }
        var applied: [String] = []
        var needRestart: [String] = []
        for key in SettingKey.all where key.value(in: fresh) != key.value(in: settings) {
            if key.reloadable { applied.append(key.name) } else { needRestart.append(key.name) }
        }
        let next = settings.reloading(from: fresh)
        StderrLogHandler.setLevel(next.logLevel)
        let maxConnections = gateway.reloadLimits(next.gateway)
        if maxConnections < next.gateway.engine.maxConnections {
            logger.warning("""
                max-connections \(next.gateway.engine.maxConnections) is capped at \(maxConnections), what the \
                connection tables sized at start hold; a restart (--takeover) sizes them anew
                """)
        }
        reloadCertificates(next.tls)
        let tlsInForce = settings.tls
        settings = next
        settings.tls = tlsInForce
        logger.info("reloaded", metadata: [
            "applied": "\(applied.joined(separator: ","))", "restart_needed": "\(needRestart.joined(separator: ","))",
        ])
        if !needRestart.isEmpty {
            logger.warning("these settings take effect only after a restart (--takeover): \(needRestart.joined(separator: ", "))")
        }
    }
}

extension Service {
    /// Re-reads the wss:// certificates and keys on SIGHUP, from the files `fresh` names (so a
    /// changed tls-cert, tls-key, tls-sni-cert, tls-ciphers, tls-ciphersuites or tls-min-version
    /// applies too), and makes `fresh` the running TLS settings. New connections get the new
    /// context; open ones keep theirs. On failure the running certificates and settings stay.
    /// Turning wss:// on or off, or moving its port, needs a restart and is reported with the
    /// other such keys; `fresh` keeps the running port for that reason.
    func reloadCertificates(_ fresh: TLSSettings) {
        guard settings.tls.configuration != nil else { return }
        guard let wanted = fresh.configuration else {
            logger.warning("TLS certificates not reloaded: the new settings serve no wss://; restart (--takeover) to apply")
            return
        }
        do {
            try gateway.reloadTLS(wanted)
            settings.tls = fresh
            logger.info("TLS certificates reloaded", metadata: ["cert": "\(wanted.certificateChainFile)",
                                                               "sni_certs": "\(wanted.sniCertificates.count)"])
        } catch {
            logger.error("TLS reload failed, keeping the old certificates: \(error)")
        }
    }
}

/// The signals the service takes synchronously.
enum Signals {
    static let handled = [SIGINT, SIGTERM, SIGHUP, SIGUSR2]

    static func block() {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in handled { sigaddset(&set, signal) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    /// The next of `handled`, or 0 after `milliseconds`.
    static func wait(milliseconds: UInt64) -> Int32 {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in handled { sigaddset(&set, signal) }
        var timeout = timespec(tv_sec: Int(milliseconds / 1000), tv_nsec: Int(milliseconds % 1000) * 1_000_000)
        let signal = sigtimedwait(&set, nil, &timeout)
        return signal > 0 ? signal : 0
    }

    static func nowMs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }
}

/// Whether `host` (an address literal, as the settings require) is a loopback address.
func isLoopback(_ host: String) -> Bool {
    host == "::1" || host.hasPrefix("127.")
}
