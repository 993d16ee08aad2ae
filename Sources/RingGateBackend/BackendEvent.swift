/// What the gateway tells a worker (docs/PROTOCOL.md, "Gateway → worker: events").
public enum BackendEvent: Sendable, Equatable {
    /// A client connected (or was moved here); answer with `accept` or `reject` when
    /// `needsDecision` is set.
    case open(OpenRequest)
    /// A whole WebSocket message from the client.
    case message(ConnectionID, Message)
    /// Exactly once per `open`, whoever closed: the client's code, 1006 without one, or ours.
    case closed(ConnectionID, code: UInt16, reason: String)
    /// The client's send queue passed half its limit (`slow`), or drained again.
    case flow(ConnectionID, slow: Bool)
    /// A subscribe with `since` found messages (`since`, `evicted`] gone; resync the client.
    case gap(ConnectionID, topic: String, since: UInt64, evicted: UInt64)
    /// A PRESENCE answer nobody awaits through `presence(topic:offset:limit:)`.
    case presence(Presence, request: UInt32)
    /// The gateway is shutting down; its connections close within `deadlineMs`.
    case draining(deadlineMs: UInt32)
    /// The client subscribed itself to `topic` by a control message (`--client-topics`).
    case subscribed(ConnectionID, topic: String)
    /// The client unsubscribed itself from `topic`.
    case unsubscribed(ConnectionID, topic: String)
    /// The link failed (gateway ERROR, broken bytes, socket error); the last event.
    case failed(BackendLinkError)
}

/// A client's WebSocket message.
public enum Message: Sendable, Equatable {
    case text(String)
    case binary([UInt8])
}

/// One forwarded request header; names are lower case.
public struct Header: Sendable, Equatable {
    public let name: String
    public let value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Who is subscribed to a topic, as PRESENCE carries it.
public struct Presence: Sendable, Equatable {
    public let topic: String
    /// The topic's subscriber count when the gateway answered.
    public let total: Int
    /// Position of `connections.first` in the topic's subscriber list.
    public let offset: Int
    public let connections: [ConnectionID]

    public init(topic: String, total: Int, offset: Int, connections: [ConnectionID]) {
        self.topic = topic
        self.total = total
        self.offset = offset
        self.connections = connections
    }
}

/// What the gateway announced in its HELLO.
public struct GatewayHello: Sendable, Equatable {
    public let version: UInt16
    public let maxFrame: UInt32
    public let linkID: UInt32
    public let gatewayID: String
}
