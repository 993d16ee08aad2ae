/// Where a connection is in its life.
enum ConnectionPhase: UInt8 {
    case free = 0
    /// Waiting for the HTTP upgrade request.
    case handshake
    /// WebSocket frames flow.
    case open
    /// Our close frame or HTTP answer is out; waiting for the peer to finish.
    case closing
}

/// Flags of one connection's `ConnectionState`.
struct ConnectionFlags: OptionSet {
    let rawValue: UInt8
    /// A ping went out and nothing has arrived since.
    static let pingOutstanding = ConnectionFlags(rawValue: 1 << 0)
    /// Reading is paused until the send queue drains.
    static let paused = ConnectionFlags(rawValue: 1 << 1)
    /// A close frame went out.
    static let closeSent = ConnectionFlags(rawValue: 1 << 2)
    /// The HTTP upgrade succeeded: the frame receiver is live.
    static let upgraded = ConnectionFlags(rawValue: 1 << 3)
    /// Parked in the core (waiting with a poll). Cleared, and the core told, when data comes
    /// again within the park window of earlier data.
    static let parked = ConnectionFlags(rawValue: 1 << 4)
    /// Its application worker was told it closed (CLOSED goes out once).
    static let closeReported = ConnectionFlags(rawValue: 1 << 5)
    /// Its worker was told the send queue is over half full (FLOW 1).
    static let slowReported = ConnectionFlags(rawValue: 1 << 6)
    /// Reading is paused until its application worker catches up.
    static let waitingForWorker = ConnectionFlags(rawValue: 1 << 7)
}

/// The WebSocket layer's per-connection state besides the frame receiver.
///
/// Byte budget (16): generation 4, lastSeenTick 4, lastMessageTick 4, phase 1,
/// flags 1, link 2. With `FrameReceiver` (32), the wheel's node (12) and
/// the core's slot (24) an idle connection costs 84 bytes of user space.
struct ConnectionState {
    /// The core's generation for the slot; events for another are stale.
    var generation: UInt32
    /// Tick of the last bytes received (any frame, including pongs).
    var lastSeenTick: UInt32
    /// Tick of the last data message, for the idle timeout.
    var lastMessageTick: UInt32
    var phase: ConnectionPhase
    var flags: ConnectionFlags
    /// The application worker's link id; 0 when the demo application serves it.
    var link: UInt16 = 0
}
