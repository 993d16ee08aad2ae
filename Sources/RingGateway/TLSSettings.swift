public import RingEngine

/// The wss:// keys (`tls-*`, `no-plain`) as read. They become the engine's TLS configuration once
/// every key is read, since they only make sense together (`engineTLS`).
public struct TLSSettings: Sendable {
    /// Port of the wss:// listener; 0 picks a free one; nil serves no wss://.
    public var port: UInt16?
    /// PEM chain, leaf first, served when no SNI entry matches.
    public var certificateChainFile: String?
    public var privateKeyFile: String?
    public var sniCertificates: [SNICertificate] = []
    /// TLS 1.2 cipher list (OpenSSL syntax); nil for the core's default.
    public var ciphers: String?
    /// TLS 1.3 suites (OpenSSL syntax); nil for OpenSSL's default.
    public var ciphersuites: String?
    public var minimumVersion = TLSVersion.v1_2
    /// Serve only wss://: no plain listener on `port`.
    public var noPlain = false

    public init() {}

    /// The certificates and settings for the engine, or nil when wss:// is off.
    public var configuration: TLSConfiguration? {
        guard port != nil, let certificateChainFile, let privateKeyFile else { return nil }
        var tls = TLSConfiguration(certificateChainFile: certificateChainFile, privateKeyFile: privateKeyFile)
        tls.sniCertificates = sniCertificates
        tls.ciphers = ciphers
        tls.ciphersuites = ciphersuites
        tls.minimumVersion = minimumVersion
        return tls
    }

    /// Combinations that cannot work, each as one sentence naming the keys.
    public func problems() -> [String] {
        var found: [String] = []
        if port != nil && (certificateChainFile == nil || privateKeyFile == nil) {
            found.append("--tls-port needs --tls-cert and --tls-key")
        }
        if port == nil && (certificateChainFile != nil || privateKeyFile != nil || !sniCertificates.isEmpty) {
            found.append("--tls-cert, --tls-key and --tls-sni-cert need --tls-port")
        }
        if noPlain && port == nil { found.append("--no-plain needs --tls-port") }
        return found
    }

    /// Sets the engine's wss:// listener from these settings.
    package func apply(to engine: inout EngineConfiguration) {
        engine.tls = configuration
        engine.tlsPort = port ?? 0
        engine.servesPlain = !(noPlain && engine.tls != nil)
    }

    /// `name=cert.pem,key.pem` entries. `values` may also be one comma-separated run of them
    /// (RINGGATE_TLS_SNI_CERT), so the pieces are regrouped: each entry is a `name=cert` piece
    /// followed by a `key` piece.
    package static func sniEntries(_ values: [String]) -> [SNICertificate]? {
        let pieces = values.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
        guard pieces.count % 2 == 0 else { return nil }
        var entries: [SNICertificate] = []
        for index in stride(from: 0, to: pieces.count, by: 2) {
            let named = pieces[index], key = pieces[index + 1]
            guard let equals = named.firstIndex(of: "=") else { return nil }
            let name = named[..<equals], cert = named[named.index(after: equals)...]
            guard !name.isEmpty, !cert.isEmpty, !key.isEmpty, !key.contains("=") else { return nil }
            entries.append(SNICertificate(serverName: String(name), certificateChainFile: String(cert), privateKeyFile: String(key)))
        }
        return entries
    }

    package static func describe(_ entries: [SNICertificate]) -> String {
        entries.isEmpty ? "(none)"
            : entries.map { "\($0.serverName)=\($0.certificateChainFile),\($0.privateKeyFile)" }.joined(separator: " ")
    }
}
