import CRingCore
#if canImport(Glibc)
import Glibc
#endif

/// The lowest TLS version the listener accepts (`rg_tls_version`).
public enum TLSVersion: UInt16, Sendable {
    case v1_2 = 0x0303
    case v1_3 = 0x0304
}

/// A certificate served to clients whose SNI names `serverName`.
public struct SNICertificate: Sendable, Equatable {
    /// An exact host name, or `*.example.com` for one label under it.
    public var serverName: String
    public var certificateChainFile: String
    public var privateKeyFile: String

    public init(serverName: String, certificateChainFile: String, privateKeyFile: String) {
        self.serverName = serverName
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
    }
}

/// Certificates and settings for the wss:// listener; each field mirrors `rg_tls_config`.
public struct TLSConfiguration: Sendable {
    /// PEM chain, leaf first: served when no SNI entry matches.
    public var certificateChainFile: String
    public var privateKeyFile: String
    public var sniCertificates: [SNICertificate] = []
    /// TLS 1.2 cipher list (OpenSSL syntax); nil for ECDHE with AES-GCM or ChaCha20.
    public var ciphers: String?
    /// TLS 1.3 suites (OpenSSL syntax); nil for OpenSSL's default.
    public var ciphersuites: String?
    public var minimumVersion = TLSVersion.v1_2

    public init(certificateChainFile: String, privateKeyFile: String) {
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
    }
}

/// A loaded TLS context (`rg_tls`): the files are read when it is made, so a reload is a new one.
final class TLSContext: @unchecked Sendable {
    // @unchecked: the core reference-counts the context atomically and never changes it once loaded.
    let raw: OpaquePointer

    /// Loads `configuration`; keeps the session-ticket keys of `previous` so sessions survive a reload.
    init(_ configuration: TLSConfiguration, previous: TLSContext?) throws(EngineError) {
        var error = [CChar](repeating: 0, count: 512)
        var made: OpaquePointer?
        let sni = configuration.sniCertificates
        let strings = [configuration.certificateChainFile, configuration.privateKeyFile, configuration.ciphers ?? "",
                       configuration.ciphersuites ?? ""] + sni.flatMap { [$0.serverName, $0.certificateChainFile, $0.privateKeyFile] }
        // C copies of every string, alive until rg_tls_create returns.
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        var entries = sni.indices.map { index in
            rg_tls_sni(name: copies[4 + 3 * index], cert_file: copies[5 + 3 * index], key_file: copies[6 + 3 * index])
        }
        let code = entries.withUnsafeMutableBufferPointer { entriesPointer in
            var raw = rg_tls_config()
            raw.cert_file = UnsafePointer(copies[0])
            raw.key_file = UnsafePointer(copies[1])
            raw.ciphers = configuration.ciphers == nil ? nil : UnsafePointer(copies[2])
            raw.ciphersuites = configuration.ciphersuites == nil ? nil : UnsafePointer(copies[3])
            raw.min_version = configuration.minimumVersion.rawValue
            raw.sni_count = UInt32(sni.count)
            raw.sni = UnsafePointer(entriesPointer.baseAddress)
            return rg_tls_create(&raw, previous?.raw, &made, &error, error.count)
        }
        guard code == 0, let made else {
            throw EngineError(code: code, message: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        raw = made
    }

    deinit { rg_tls_release(raw) }
}
