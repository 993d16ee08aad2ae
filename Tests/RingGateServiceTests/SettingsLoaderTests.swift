import Testing
import Logging
import RingEngine
@testable import RingGateService
@testable import RingGateway
import RingWebSocket

@Suite struct SettingsLoaderTests {
    private func load(_ arguments: [String], env: [String: String] = [:], file: String? = nil) throws(SettingError) -> ServiceConfiguration {
        let environment = file == nil ? env : env.merging(["RINGGATE_CONFIG": "test.toml"]) { $1 }
        return try SettingsLoader.load(arguments: arguments, environment: environment) { _ throws(SettingError) in file ?? "" }
    }

    @Test func defaultsWhenNothingIsGiven() throws {
        let configuration = try load([])
        #expect(configuration.gateway.engine.port == 8080)
        #expect(configuration.adminPort == nil)
        #expect(configuration.drainWindowMs == 10_000)
    }

    @Test func flagsBeatEnvironmentBeatFile() throws {
        let file = "workers = 3\nping-interval = 7.5\nallowed-origin = [\"https://a\", \"https://b\"]\n"
        #expect(try load([], file: file).gateway.engine.workers == 3)
        #expect(try load([], env: ["RINGGATE_WORKERS": "2"], file: file).gateway.engine.workers == 2)
        #expect(try load(["--workers=1"], env: ["RINGGATE_WORKERS": "2"], file: file).gateway.engine.workers == 1)
        let configuration = try load(["--allowed-origin", "https://c"], file: file)
        #expect(configuration.gateway.handshake.allowedOrigins == ["https://c"])
        #expect(configuration.gateway.pingIntervalMs == 7500)
        #expect(try load([], file: file).gateway.handshake.allowedOrigins == ["https://a", "https://b"])
    }

    @Test func flagsAndListsParse() throws {
        let configuration = try load(["--no-pin", "--subprotocol", "a", "--subprotocol", "b", "--admin-port", "0",
                                      "--log-level", "debug", "--wait-mode", "poll"])
        #expect(!configuration.gateway.engine.pinsCPUs)
        #expect(configuration.gateway.handshake.subprotocols == ["a", "b"])
        #expect(configuration.adminPort == 0)
        #expect(configuration.logLevel == .debug)
        #expect(configuration.gateway.engine.waitMode == .poll)
    }

    @Test(arguments: [
        (["--slow-client", "later"], "invalid value 'later' for slow-client (from --slow-client): expected one of pause, close, drop"),
        (["--tick-ms", "0"], "for tick-ms (from --tick-ms): expected an integer from 1 to 10000"),
        (["--wheel-slots", "1000"], "expected a power of two"),
        (["--port"], "--port needs a value"),
        (["stray"], "unexpected argument 'stray'"),
    ])
    func badFlagsNameTheKey(arguments: [String], message: String) {
        #expect {
            _ = try load(arguments)
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test func badFileLinesNameTheLine() {
        #expect { _ = try load([], file: "# ok\nport = 1\nnope = 2\n") } throws: { "\($0)".contains("test.toml:3: unknown key 'nope'") }
        #expect { _ = try load([], file: "max_connections = x\n") } throws: {
            "\($0)".contains("invalid value 'x' for max-connections (from test.toml:1)")
        }
    }

    @Test func everyKeyHasAnEnvironmentNameAndADefault() {
        let defaults = ServiceConfiguration()
        for key in SettingKey.all {
            #expect(key.environmentName.hasPrefix("RINGGATE_"))
            #expect(!key.value(in: defaults).isEmpty)
        }
        #expect(Set(SettingKey.all.map(\.name)).count == SettingKey.all.count)
    }

    /// A value other than the default for every key, to see which ones a reload takes.
    private static let otherValues: [String: [String]] = [
        "host": ["::1"], "port": ["9"], "workers": ["3"], "max-connections": ["77"], "backlog": ["5"],
        "no-pin": ["true"], "tls-port": ["8443"], "tls-cert": ["/c.pem"], "tls-key": ["/k.pem"],
        "tls-sni-cert": ["a.example=/a.pem,/a.key"], "tls-ciphers": ["AES128-SHA"],
        "tls-ciphersuites": ["TLS_AES_128_GCM_SHA256"], "tls-min-version": ["1.3"], "no-plain": ["true"],
        "buffer-size": ["128"], "buffer-count": ["64"], "wait-mode": ["poll"], "batch-wait-us": ["9"], "send-queue-limit": ["99"],
        "send-pool": ["65536"], "slow-client": ["close"], "slow-client-close-code": ["1013"], "rate-limit-messages": ["5"], "rate-limit-bytes": ["6"],
        "max-message-size": ["7"], "max-header-size": ["99"], "allowed-origin": ["https://x"], "subprotocol": ["p"],
        "ping-interval": ["1"], "pong-timeout": ["2"], "idle-timeout": ["3"], "park-after": ["4"],
        "handshake-timeout": ["5"], "close-timeout": ["6"], "tick-ms": ["7"], "wheel-slots": ["8"],
        "backend-socket": ["/s"], "backend-socket-mode": ["600"], "backend-socket-group": ["g"],
        "route": ["hash:path:1"], "no-worker": ["demo"], "on-worker-loss": ["close"], "backend-header": ["x"],
        "backend-queue-limit": ["70000"], "backend-hello-timeout": ["2"], "backend-frame-timeout": ["3"], "max-topics": ["9"], "client-topics": ["room/"], "client-topics-max": ["3"], "fanout-batch": ["9"], "admin-host": ["::1"],
        "admin-port": ["1"], "log-level": ["debug"], "stats-interval": ["1"], "drain-window": ["1"],
        "drain-timeout": ["1"], "control-socket": ["/c"], "takeover": ["/t"],
    ]

    @Test func aReloadTakesEveryReloadableKeyAndNoOther() throws {
        let running = ServiceConfiguration()
        var fresh = running
        for key in SettingKey.all {
            let values = try #require(Self.otherValues[key.name], "no other value for \(key.name)")
            try key.apply(values, from: "test", to: &fresh)
            #expect(key.value(in: fresh) != key.value(in: running), "\(key.name): pick a value other than the default")
        }
        let next = running.reloading(from: fresh)
        for key in SettingKey.all {
            let expected = key.reloadable ? key.value(in: fresh) : key.value(in: running)
            #expect(key.value(in: next) == expected, "\(key.name) is \(key.reloadable ? "" : "not ")marked reloadable")
        }
    }

    @Test func drainMailRoundTrips() {
        let tag = GatewayMail.drain(code: .serviceRestart, windowMs: 123_456)
        #expect(tag >> 56 == GatewayMail.drainKind)
        #expect(UInt16(truncatingIfNeeded: tag >> 40) == 1012)
        #expect(UInt32(truncatingIfNeeded: tag) == 123_456)
    }

    @Test func tlsKeysBecomeTheEngineListener() throws {
        let configuration = try load(["--tls-port", "0", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--no-plain",
                                      "--tls-min-version", "1.3", "--tls-sni-cert", "a.test=a.pem,a.key"])
        let engine = configuration.gateway.engine
        #expect(engine.tlsPort == 0 && !engine.servesPlain)
        #expect(engine.tls?.certificateChainFile == "c.pem" && engine.tls?.privateKeyFile == "k.pem")
        #expect(engine.tls?.minimumVersion == .v1_3)
        #expect(engine.tls?.sniCertificates == [SNICertificate(serverName: "a.test", certificateChainFile: "a.pem", privateKeyFile: "a.key")])
        #expect(try load([]).gateway.engine.tls == nil)
    }

    @Test func sniCertificatesFromEveryPlace() throws {
        let base = ["--tls-port", "0", "--tls-cert", "c.pem", "--tls-key", "k.pem"]
        let two = [SNICertificate(serverName: "a.test", certificateChainFile: "a.pem", privateKeyFile: "a.key"),
                   SNICertificate(serverName: "*.b.test", certificateChainFile: "b.pem", privateKeyFile: "b.key")]
        let fromEnv = try load(base, env: ["RINGGATE_TLS_SNI_CERT": "a.test=a.pem,a.key,*.b.test=b.pem,b.key"])
        #expect(fromEnv.tls.sniCertificates == two)
        let fromFile = try load(base, file: "tls-sni-cert = [\"a.test=a.pem,a.key\", \"*.b.test=b.pem,b.key\"]\n")
        #expect(fromFile.tls.sniCertificates == two)
        #expect(try load(base, file: "tls-sni-cert = []\n").tls.sniCertificates.isEmpty)
        for bad in ["nocomma", "a.test=a.pem", "=a.pem,a.key", "a.test=a.pem,", "a.test=a.pem,a.key,b"] {
            #expect(throws: SettingError.self) { try load(base + ["--tls-sni-cert", bad]) }
        }
    }

    @Test func tlsKeysThatOnlyWorkTogether() {
        for (arguments, problem) in [(["--tls-port", "0"], "--tls-port needs --tls-cert and --tls-key"),
                                     (["--tls-cert", "c.pem", "--tls-key", "k.pem"], "need --tls-port"),
                                     (["--no-plain"], "--no-plain needs --tls-port")] {
            do {
                _ = try load(arguments)
                Issue.record("\(arguments) loaded")
            } catch {
                #expect(error.description.contains(problem))
            }
        }
    }
}
