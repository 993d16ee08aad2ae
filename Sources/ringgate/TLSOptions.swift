import ArgumentParser
import RingEngine
import RingGateway

/// The wss:// options of `ringgate`.
struct TLSOptions: ParsableArguments {
    @Option(help: "TCP port serving wss:// (TLS) beside --port (0 picks a free one and prints it).")
    var tlsPort: UInt16?
    @Option(help: "PEM certificate chain for wss://, leaf first; reread on SIGHUP.") var tlsCert: String?
    @Option(help: "PEM private key of --tls-cert; reread on SIGHUP.") var tlsKey: String?
    @Option(help: "Extra certificate chosen by SNI, as name=cert.pem,key.pem (repeatable; *.example.com allowed).")
    var tlsSniCert: [String] = []
    @Option(help: "TLS 1.2 cipher list in OpenSSL syntax (default: ECDHE with AES-GCM or ChaCha20).") var tlsCiphers: String?
    @Option(help: "TLS 1.3 cipher suites in OpenSSL syntax (default: OpenSSL's).") var tlsCiphersuites: String?
    @Option(help: "Lowest TLS version accepted: 1.2 or 1.3.") var tlsMinVersion = "1.2"
    @Flag(help: "Serve only wss:// (no plain listener on --port).") var noPlain = false

    func validate() throws {
        guard Self.version(tlsMinVersion) != nil else { throw ValidationError("--tls-min-version must be 1.2 or 1.3 (got \(tlsMinVersion))") }
        if tlsPort != nil && (tlsCert == nil || tlsKey == nil) {
            throw ValidationError("--tls-port needs --tls-cert and --tls-key")
        }
        if tlsPort == nil && (tlsCert != nil || tlsKey != nil || !tlsSniCert.isEmpty) {
            throw ValidationError("--tls-cert, --tls-key and --tls-sni-cert need --tls-port")
        }
        if noPlain && tlsPort == nil { throw ValidationError("--no-plain needs --tls-port") }
        for entry in tlsSniCert where Self.sni(entry) == nil {
            throw ValidationError("--tls-sni-cert must be name=cert.pem,key.pem (got \(entry))")
        }
    }

    /// Fills the engine's TLS settings; nothing when wss:// is off.
    func apply(to engine: inout EngineConfiguration) {
        guard let tlsPort, let tlsCert, let tlsKey else { return }
        var tls = TLSConfiguration(certificateChainFile: tlsCert, privateKeyFile: tlsKey)
        tls.sniCertificates = tlsSniCert.compactMap(Self.sni)
        tls.ciphers = tlsCiphers
        tls.ciphersuites = tlsCiphersuites
        tls.minimumVersion = Self.version(tlsMinVersion) ?? .v1_2
        engine.tls = tls
        engine.tlsPort = tlsPort
        engine.servesPlain = !noPlain
    }

    private static func version(_ text: String) -> TLSVersion? {
        switch text {
        case "1.2": .v1_2
        case "1.3": .v1_3
        default: nil
        }
    }

    /// `name=cert.pem,key.pem`
    private static func sni(_ entry: String) -> SNICertificate? {
        guard let equals = entry.firstIndex(of: "=") else { return nil }
        let files = entry[entry.index(after: equals)...].split(separator: ",", omittingEmptySubsequences: false)
        let name = String(entry[..<equals])
        guard !name.isEmpty, files.count == 2, !files[0].isEmpty, !files[1].isEmpty else { return nil }
        return SNICertificate(serverName: name, certificateChainFile: String(files[0]), privateKeyFile: String(files[1]))
    }
}
