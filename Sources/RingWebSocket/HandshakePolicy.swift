// What the server accepts in an upgrade request. One value per listener, shared by all
// connections' parsers.

/// Limits and choices applied to every WebSocket upgrade request.
public struct HandshakePolicy: Sendable, Hashable {
    /// Largest request head (request line, header fields and the blank line) in bytes;
    /// anything longer is refused with 431. 8192 by default.
    public var maxHeaderBytes: Int
    /// Origins allowed to connect, compared without regard to ASCII case (for example
    /// `"https://example.com"`). Empty means any origin.
    public var allowedOrigins: [String]
    /// When true, a request without an `Origin` header is refused with 403. Browsers always
    /// send one; other clients usually do not.
    public var requireOrigin: Bool
    /// Supported subprotocols in server preference order. The first one the client also
    /// offers is chosen (RFC 6455 section 4.2.2, item 5.4); names are case-sensitive.
    public var subprotocols: [String]
    /// Header fields copied into `UpgradeRequest.headers` for the application, lower-case.
    public var forwardedHeaderNames: [String]

    /// Creates a policy.
    /// - Parameters:
    ///   - maxHeaderBytes: largest request head in bytes.
    ///   - allowedOrigins: allowed origins; empty for any.
    ///   - requireOrigin: whether a missing `Origin` is refused.
    ///   - subprotocols: supported subprotocols, preferred first.
    ///   - forwardedHeaderNames: header fields kept for the application.
    public init(
        maxHeaderBytes: Int = 8192,
        allowedOrigins: [String] = [],
        requireOrigin: Bool = false,
        subprotocols: [String] = [],
        forwardedHeaderNames: [String] = ["cookie", "authorization", "user-agent", "x-forwarded-for"]
    ) {
        precondition(maxHeaderBytes >= 16, "maxHeaderBytes too small for any request")
        self.maxHeaderBytes = maxHeaderBytes
        self.allowedOrigins = allowedOrigins
        self.requireOrigin = requireOrigin
        self.subprotocols = subprotocols
        self.forwardedHeaderNames = forwardedHeaderNames.map { $0.lowercased() }
    }
}
