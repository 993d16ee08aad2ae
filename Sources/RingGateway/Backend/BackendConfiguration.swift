import RingTopics
/// How WebSocket connections are assigned to application workers.
public enum RoutePolicy: Sendable, Equatable {
    /// The worker with the fewest connections.
    case leastLoaded
    /// Rendezvous hash of a request header's value over the workers' names.
    case headerHash(String)
    /// Rendezvous hash of the N-th path segment (1-based).
    case pathSegmentHash(Int)

    /// The policy as `init(name:)` reads it.
    public var name: String {
        switch self {
        case .leastLoaded: "least-loaded"
        case .headerHash(let header): "hash:header:\(header)"
        case .pathSegmentHash(let index): "hash:path:\(index)"
        }
    }

    /// Parses `least-loaded`, `hash:header:NAME` or `hash:path:N`.
    public init?(name: String) {
        if name == "least-loaded" { self = .leastLoaded; return }
        let parts = name.split(separator: ":", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[0] == "hash", !parts[2].isEmpty else { return nil }
        switch parts[1] {
        case "header": self = .headerHash(parts[2].lowercased())
        case "path":
            guard let index = Int(parts[2]), index >= 1 else { return nil }
            self = .pathSegmentHash(index)
        default: return nil
        }
    }
}

/// What happens to upgrades while no worker is connected.
public enum NoWorkerPolicy: String, Sendable, CaseIterable {
    /// Answer 503: the application is not there.
    case refuse
    /// Serve the connection with the built-in demo application.
    case demo
}

/// What happens to a failed worker's connections.
public enum WorkerLossPolicy: String, Sendable, CaseIterable {
    /// Hand them to another worker (OPEN with MOVED); 1012 when none is left.
    case move
    /// Close them with 1011.
    case close
}

/// The Unix-socket link to application workers (docs/PROTOCOL.md).
public struct BackendConfiguration: Sendable {
    /// Where workers connect; nil runs the built-in demo application only.
    public var socketPath: String?
    /// File mode of the socket (workers need write permission).
    public var socketMode: UInt32 = 0o660
    /// Group owning the socket, by name; nil keeps the gateway's.
    public var socketGroup: String?
    public var route = RoutePolicy.leastLoaded
    public var noWorker = NoWorkerPolicy.refuse
    public var onWorkerLoss = WorkerLossPolicy.move
    /// Request headers forwarded in OPEN, lower-case.
    public var forwardedHeaders = ["cookie", "authorization", "origin", "user-agent", "x-forwarded-for"]
    /// Events queued for one worker before the gateway stops reading its clients.
    public var linkQueueLimitBytes = 4 << 20
    /// Commands queued for one gateway thread before the gateway stops reading workers.
    public var inboxLimitBytes = 16 << 20
    /// Largest frame either way.
    public var maxFrameBytes = LinkProtocolLimits.maxFrame
    /// Workers connected at once, at most.
    public var maxLinks = 256
    /// A worker that has not sent HELLO this long after connecting is closed (ERROR 7).
    public var helloTimeoutMs: UInt32 = 10_000
    /// A worker that began a frame and has not finished it this long is closed (ERROR 7).
    public var frameTimeoutMs: UInt32 = 30_000
    /// Topics at most (each costs a little memory even when empty).
    public var maxTopics = 100_000
    /// Deliveries per loop turn and gateway thread in a fan-out, so a big broadcast
    /// interleaves with everything else.
    public var fanoutBatch = 4096
    /// Topic prefixes a client may subscribe itself to by a control message
    /// (ClientTopicCommand); empty turns client control messages off.
    public var clientTopicPrefixes: [String] = []
    /// Subscriptions a connection may hold, at most, when it asks for another itself.
    public var clientTopicsMax = 32

    public init() {}

    var isEnabled: Bool { socketPath != nil }
}

/// Mirrors the protocol module's constants for configuration defaults.
enum LinkProtocolLimits {
    static let maxFrame = 16 << 20 + 64
    /// A MESSAGE frame's bytes besides the payload: type, connection id, payload kind.
    static let messageOverhead = 1 + 8 + 1
}
