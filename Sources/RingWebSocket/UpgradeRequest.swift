// What a parsed request head yields for the application: an accepted upgrade, or a plain
// GET the gateway answers itself (/healthz and the like).

/// One HTTP header field kept for the application.
public struct HeaderField: Sendable, Hashable {
    /// The field name, lower-case.
    public var name: String
    /// The field value with surrounding whitespace removed.
    public var value: String

    /// Creates a header field.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A valid WebSocket upgrade request (RFC 6455 section 4.2.1).
public struct UpgradeRequest: Sendable, Hashable {
    /// The request path, from `/` up to `?` or the end; not percent-decoded.
    public var path: String
    /// The query after `?`, without it; nil when there is no `?`.
    public var query: String?
    /// The `Host` header value.
    public var host: String
    /// The `Origin` header value, if sent.
    public var origin: String?
    /// The `Sec-WebSocket-Key` value, checked to be base64 of 16 bytes.
    public var key: String
    /// The chosen subprotocol: the first of the policy's list that the client offered.
    public var subprotocol: String?
    /// Header fields named in `HandshakePolicy.forwardedHeaderNames`, in request order.
    public var headers: [HeaderField]

    /// Creates an upgrade request.
    public init(
        path: String, query: String?, host: String, origin: String?, key: String,
        subprotocol: String?, headers: [HeaderField]
    ) {
        self.path = path
        self.query = query
        self.host = host
        self.origin = origin
        self.key = key
        self.subprotocol = subprotocol
        self.headers = headers
    }
}

/// A GET request without WebSocket upgrade headers.
public struct PlainRequest: Sendable, Hashable {
    /// The request method: `GET` or `HEAD` (other methods are refused with 405).
    public var method: String
    /// The request path, not percent-decoded.
    public var path: String
    /// The query after `?`, without it; nil when there is no `?`.
    public var query: String?
    /// The `Host` header value.
    public var host: String

    /// Creates a plain request.
    public init(method: String, path: String, query: String?, host: String) {
        self.method = method
        self.path = path
        self.query = query
        self.host = host
    }
}
