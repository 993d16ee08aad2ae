/// An OPEN event: a client's upgrade request, or a connection moved from a lost worker.
public struct OpenRequest: Sendable, Equatable {
    public let conn: ConnectionID
    /// The client's address as `ip:port`.
    public let remote: String
    public let path: String
    /// The raw query string, without `?`.
    public let query: String
    /// `Sec-WebSocket-Protocol` offers, in the client's order.
    public let protocols: [String]
    /// The headers the gateway forwards (`--backend-header`).
    public let headers: [Header]
    /// The client waits for `accept` or `reject` (OPEN flag `DECIDE`).
    public let needsDecision: Bool
    /// Already open on a worker whose link failed (OPEN flag `MOVED`).
    public let moved: Bool

    public init(
        conn: ConnectionID, remote: String, path: String, query: String, protocols: [String],
        headers: [Header], needsDecision: Bool, moved: Bool
    ) {
        self.conn = conn
        self.remote = remote
        self.path = path
        self.query = query
        self.protocols = protocols
        self.headers = headers
        self.needsDecision = needsDecision
        self.moved = moved
    }

    /// The first forwarded header called `name` (any case).
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name == wanted }?.value
    }

    /// The first query parameter called `name`, percent-decoded (`+` is a space).
    public func queryValue(_ name: String) -> String? {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if percentDecoded(parts[0]) == name {
                return parts.count > 1 ? percentDecoded(parts[1]) : ""
            }
        }
        return nil
    }
}

/// `a%20b+c` -> `a b c`; a malformed escape stays as written.
func percentDecoded(_ text: Substring) -> String {
    var bytes: [UInt8] = []
    var utf8 = Array(text.utf8)[...]
    while let byte = utf8.popFirst() {
        if byte == UInt8(ascii: "+") {
            bytes.append(UInt8(ascii: " "))
        } else if byte == UInt8(ascii: "%"), utf8.count >= 2,
                  let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
            bytes.append(value)
            utf8 = utf8.dropFirst(2)
        } else {
            bytes.append(byte)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}
