public import RingEngine
public import RingWebSocket

/// What to do with a client whose send queue is full.
public enum SlowClientPolicy: String, Sendable, CaseIterable {
    /// Close it with `slowClientCloseCode`: the client is not keeping up.
    case close
    /// Stop reading from the client until its queue drains (fits echo-style traffic).
    case pause
    /// Drop its oldest queued messages that have not started to leave, so it gets the newest
    /// (counted); whole messages only, never part of one. On wss:// the queue holds encrypted
    /// records, which cannot be cut, so the new message is dropped instead.
    case drop
}

/// Everything the gateway needs to run; `ringgate` fills it from the command line.
public struct GatewayConfiguration: Sendable {
    public var engine = EngineConfiguration()
    public var handshake = HandshakePolicy()
    public var frames = FrameLimits()
    public var backend = BackendConfiguration()

    /// Length of one timer tick; every timeout is rounded up to whole ticks.
    public var tickMs: UInt32 = 100
    /// A ping is sent after this much silence from the client (25 s suits mobile NATs).
    public var pingIntervalMs: UInt32 = 25_000
    /// A client silent this long after a ping is dropped (1006 locally).
    public var pongTimeoutMs: UInt32 = 10_000
    /// A client that sends no data message for this long is closed with 1001; 0 turns it off.
    public var idleTimeoutMs: UInt32 = 0
    /// A connection silent this long is parked: it waits with a poll instead of an armed
    /// multishot recv, which holds kernel memory; 0 keeps every connection armed.
    public var parkAfterMs: UInt32 = 10_000
    /// A client that has not completed the HTTP upgrade in this time is cut (slowloris).
    public var handshakeTimeoutMs: UInt32 = 10_000
    /// After our close frame, the peer has this long to answer before the socket is cut.
    public var closeTimeoutMs: UInt32 = 5_000
    /// Slots in each worker's timing wheel (a power of two).
    public var wheelSlots = 4096
    /// Expiries handled per tick at most; the rest wait for the next tick.
    public var expiriesPerTick = 50_000
    public var slowClientPolicy = SlowClientPolicy.pause
    /// The code `--slow-client close` closes with. A full queue looks the same whether the client
    /// stopped reading or its link is too slow for a burst. 1008 (policy violation, the default)
    /// fits the first: only the client can fix it, and reconnecting at once would fill the queue
    /// again. 1013 (try again later) fits the second, as in a fan-out to mobile clients: it
    /// tells them to come back after a pause, and resume from topic history.
    public var slowClientCloseCode = CloseCode.policyViolation
    /// Data messages a client may send per second; 0 for no limit. Past it: close 1008.
    public var rateLimitMessages: UInt32 = 0
    /// Payload bytes a client may send per second; 0 for no limit. Past it: close 1008.
    public var rateLimitBytes: UInt32 = 0

    public init() {}

    /// Ticks for `ms`, at least one.
    func ticks(_ ms: UInt32) -> UInt32 { max(1, (ms + tickMs - 1) / tickMs) }

    /// Checks values that the engine does not; returns one line per problem.
    public func problems() -> [String] {
        var found: [String] = []
        if tickMs == 0 || tickMs > 10_000 { found.append("tick must be 1..10000 ms (got \(tickMs))") }
        if pingIntervalMs == 0 { found.append("ping-interval must be above 0") }
        if pongTimeoutMs == 0 { found.append("pong-timeout must be above 0") }
        if handshakeTimeoutMs == 0 { found.append("handshake-timeout must be above 0") }
        if closeTimeoutMs == 0 { found.append("close-timeout must be above 0") }
        if wheelSlots <= 0 || wheelSlots & (wheelSlots - 1) != 0 {
            found.append("wheel slots must be a power of two (got \(wheelSlots))")
        }
        if frames.maxMessageBytes < 1 { found.append("max-message-size must be at least 1 byte") }
        if backend.isEnabled && frames.maxMessageBytes > backend.maxFrameBytes - LinkProtocolLimits.messageOverhead {
            // A client message the link cannot carry would end the worker's link, and under
            // `move` the next worker's in turn: refuse the pair of settings instead.
            found.append("max-message-size \(frames.maxMessageBytes) is above what one worker-link frame carries "
                         + "(\(backend.maxFrameBytes - LinkProtocolLimits.messageOverhead) bytes); lower it")
        }
        if !backend.clientTopicPrefixes.isEmpty && !backend.isEnabled {
            found.append("client-topics needs backend-socket: topics are published by application workers")
        }
        return found
    }
}

// What SIGHUP changes in a running gateway's per-connection limits; ServiceConfiguration+Reload
// (RingGateService) adds the rest of the settings.
extension GatewayConfiguration {
    /// `self` with the per-connection limits and the connection limit taken from `fresh`.
    /// Everything else, including what the gateway derived at start (the headers forwarded to
    /// application workers), stays as running.
    public func reloading(from fresh: GatewayConfiguration) -> GatewayConfiguration {
        var next = self
        next.engine.maxConnections = fresh.engine.maxConnections
        next.frames.maxMessageBytes = fresh.frames.maxMessageBytes
        next.handshake.maxHeaderBytes = fresh.handshake.maxHeaderBytes
        next.rateLimitMessages = fresh.rateLimitMessages
        next.rateLimitBytes = fresh.rateLimitBytes
        next.pingIntervalMs = fresh.pingIntervalMs
        next.pongTimeoutMs = fresh.pongTimeoutMs
        next.idleTimeoutMs = fresh.idleTimeoutMs
        next.handshakeTimeoutMs = fresh.handshakeTimeoutMs
        next.closeTimeoutMs = fresh.closeTimeoutMs
        return next
    }
}
