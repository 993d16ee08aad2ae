import RingWebSocket

/// The limits a worker holds each connection to, timeouts in ticks. A worker reads them on
/// its own thread only; a reload (SIGHUP) hands it a new set by mail, which it swaps in
/// between batches, so no connection sees half of a change.
struct ConnectionLimits: Sendable, Equatable {
    var frames: FrameLimits
    var handshake: HandshakePolicy
    /// Data messages and payload bytes a client may send per second; 0 for no limit.
    var rateLimitMessages: UInt32
    var rateLimitBytes: UInt32
    var pingTicks: UInt32
    var pongTicks: UInt32
    /// 0: never park.
    var parkTicks: UInt32
    /// 0: no idle timeout.
    var idleTicks: UInt32
    var handshakeTicks: UInt32
    var closeTicks: UInt32

    init(_ configuration: GatewayConfiguration) {
        frames = configuration.frames
        handshake = configuration.handshake
        rateLimitMessages = configuration.rateLimitMessages
        rateLimitBytes = configuration.rateLimitBytes
        pingTicks = configuration.ticks(configuration.pingIntervalMs)
        pongTicks = configuration.ticks(configuration.pongTimeoutMs)
        parkTicks = configuration.parkAfterMs == 0 ? 0 : configuration.ticks(configuration.parkAfterMs)
        idleTicks = configuration.idleTimeoutMs == 0 ? 0 : configuration.ticks(configuration.idleTimeoutMs)
        handshakeTicks = configuration.ticks(configuration.handshakeTimeoutMs)
        closeTicks = configuration.ticks(configuration.closeTimeoutMs)
    }

    var limitsRate: Bool { rateLimitMessages > 0 || rateLimitBytes > 0 }

    var heartbeats: HeartbeatPolicy { HeartbeatPolicy(self) }
}
