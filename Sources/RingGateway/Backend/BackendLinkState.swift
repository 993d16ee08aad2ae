import Synchronization

/// One application worker's link as `/metrics` shows it: open and past its HELLO.
public struct BackendLinkState: Sendable, Equatable {
    /// The link id the gateway gave it (in HELLO), reused only after every other id.
    public var id: UInt16
    /// The worker's name from its HELLO, as the worker sent it.
    public var name: String
    /// Connections routed to it and not yet closed.
    public var connections: Int
    /// Event bytes waiting to be written to it.
    public var queuedBytes: Int
    /// Over --backend-queue-limit: its clients are paused until it catches up.
    public var congested: Bool
    public var eventsWritten: UInt64
    public var commandsRead: UInt64

    public init(id: UInt16, name: String, connections: Int = 0, queuedBytes: Int = 0, congested: Bool = false,
                eventsWritten: UInt64 = 0, commandsRead: UInt64 = 0) {
        self.id = id
        self.name = name
        self.connections = connections
        self.queuedBytes = queuedBytes
        self.congested = congested
        self.eventsWritten = eventsWritten
        self.commandsRead = commandsRead
    }

    init(_ link: BackendLink) {
        self.init(
            id: link.id, name: link.name.withLock { $0 },
            connections: link.connections.load(ordering: .relaxed), queuedBytes: link.queuedBytes.load(ordering: .relaxed),
            congested: link.congested.load(ordering: .relaxed), eventsWritten: link.eventsWritten.load(ordering: .relaxed),
            commandsRead: link.commandsRead.load(ordering: .relaxed)
        )
    }
}
