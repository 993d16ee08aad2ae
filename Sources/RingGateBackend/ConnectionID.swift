/// One WebSocket connection as the gateway names it (the protocol's `conn`). Opaque: the
/// gateway never reuses an id in its life, so it can key a dictionary; store it and send it back.
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public var description: String { "conn-" + String(rawValue, radix: 16) }
}
