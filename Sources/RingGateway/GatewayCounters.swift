public import RingEngine

/// Counters of one worker's WebSocket layer. Each worker owns its own and
/// publishes a copy once per tick, so the hot path pays plain increments.
public struct GatewayCounters: Sendable, Equatable {
    public var handshakesAccepted: UInt64 = 0
    public var handshakesRejected: UInt64 = 0
    public var plainRequests: UInt64 = 0
    public var messagesIn: UInt64 = 0
    public var bytesIn: UInt64 = 0
    public var messagesOut: UInt64 = 0
    public var bytesOut: UInt64 = 0
    public var pingsSent: UInt64 = 0
    public var pongsReceived: UInt64 = 0
    /// Clients that broke RFC 6455 and were closed with 1002, 1007 or 1009.
    public var protocolErrors: UInt64 = 0
    public var closedByClient: UInt64 = 0
    public var handshakeTimeouts: UInt64 = 0
    public var pongTimeouts: UInt64 = 0
    public var idleTimeouts: UInt64 = 0
    public var closeTimeouts: UInt64 = 0
    /// Clients closed because their queue was full (`--slow-client close`).
    public var sendQueueOverflows: UInt64 = 0
    /// Queued messages dropped, oldest first, to make room for new ones (`--slow-client drop`).
    public var droppedOldest: UInt64 = 0
    /// New messages dropped under `--slow-client drop` because no room could be made: what was
    /// queued had started to leave, or the connection is wss://, whose queue cannot be cut.
    public var droppedNewest: UInt64 = 0
    public var pausedForBackpressure: UInt64 = 0
    /// Clients paused because the worker's send pool was down to its reserve.
    public var pausedForSendPool: UInt64 = 0
    /// Messages that found the send pool dry and waited for room (none lost, none closed).
    public var sendPoolWaits: UInt64 = 0
    /// Clients reset because their queues did not shrink for the close timeout while the send pool was pressed.
    public var slowClientsReset: UInt64 = 0
    /// Times an idle connection was parked (poll instead of an armed recv).
    public var parked: UInt64 = 0
    /// Clients closed with 1008 for sending faster than the configured rate.
    public var rateLimited: UInt64 = 0
    public var openConnections: UInt64 = 0

    /// Connections closed by a drain (1001 on SIGTERM, 1012 on a restart).
    public var drainCloses: UInt64 = 0

    public init() {}

    /// Every counter with its stats-line name, in a stable order. A new counter is one line here
    /// (and one in GatewayMetrics if it deserves its own metric name).
    public static let all: [(name: String, path: WritableKeyPath<GatewayCounters, UInt64> & Sendable)] = [
        ("open", \.openConnections), ("handshakes_ok", \.handshakesAccepted),
        ("handshakes_rejected", \.handshakesRejected), ("plain_requests", \.plainRequests),
        ("messages_in", \.messagesIn), ("bytes_in", \.bytesIn), ("messages_out", \.messagesOut),
        ("bytes_out", \.bytesOut), ("pings_sent", \.pingsSent), ("pongs_received", \.pongsReceived),
        ("protocol_errors", \.protocolErrors), ("closed_by_client", \.closedByClient),
        ("handshake_timeouts", \.handshakeTimeouts), ("pong_timeouts", \.pongTimeouts),
        ("idle_timeouts", \.idleTimeouts), ("close_timeouts", \.closeTimeouts),
        ("send_queue_overflows", \.sendQueueOverflows), ("dropped_oldest", \.droppedOldest),
        ("dropped_newest", \.droppedNewest), ("paused_backpressure", \.pausedForBackpressure),
        ("paused_send_pool", \.pausedForSendPool), ("send_pool_waits", \.sendPoolWaits), ("slow_clients_reset", \.slowClientsReset), ("parked", \.parked), ("rate_limited", \.rateLimited), ("drain_closes", \.drainCloses),
    ]

    /// Adds `other` field by field.
    public mutating func add(_ other: GatewayCounters) {
        for (_, path) in Self.all { self[keyPath: path] += other[keyPath: path] }
    }

    /// `name value` pairs in a stable order, for logs and the stats line.
    public var fields: [(String, UInt64)] { Self.all.map { ($0.name, self[keyPath: $0.path]) } }
}

/// What one scrape reads: the WebSocket layer's and the core's counters of one worker, or their
/// sum over workers.
public struct MetricsSnapshot: Sendable {
    public var gateway = GatewayCounters()
    public var core = EngineStats()

    public init() {}

    public init(gateway: GatewayCounters, core: EngineStats) {
        self.gateway = gateway
        self.core = core
    }
}
