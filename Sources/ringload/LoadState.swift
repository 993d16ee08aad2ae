// What a load worker counts and keeps per connection, and its random numbers.

/// Counters of one load worker, published once per tick.
struct LoadCounters: Sendable {
    var connectsStarted = 0
    var open = 0
    var upgraded = 0
    var connectFailures: [Int32: Int] = [:]
    var handshakeFailures = 0
    /// Connections whose socket closed while open, without a close frame.
    var closedByServer = 0
    /// Close frames the server started (a drain's 1001 or 1012, a policy's 1008), by code;
    /// 1005 when the frame carried none.
    var serverCloseCodes: [UInt16: Int] = [:]
    var messagesSent = 0
    var messagesReceived = 0
    var bytesSent = 0
    var pingsAnswered = 0
    var sendRefused = 0
    /// End-of-hold probes sent, and answered by their echo: a connection is held only if its
    /// probe came back.
    var probesSent = 0
    var probesAnswered = 0
    /// Rings that have sent their probes.
    var probedRings = 0
    /// When the first connect left and the last upgrade arrived (CLOCK_MONOTONIC ns; 0: not yet):
    /// the span the upgrade rate is measured over, exact where the ramp's polling is not.
    var firstConnectNs: UInt64 = 0
    var lastUpgradeNs: UInt64 = 0

    mutating func add(_ other: LoadCounters) {
        connectsStarted += other.connectsStarted
        open += other.open
        upgraded += other.upgraded
        for (code, count) in other.connectFailures { connectFailures[code, default: 0] += count }
        handshakeFailures += other.handshakeFailures
        closedByServer += other.closedByServer
        for (code, count) in other.serverCloseCodes { serverCloseCodes[code, default: 0] += count }
        messagesSent += other.messagesSent
        messagesReceived += other.messagesReceived
        bytesSent += other.bytesSent
        pingsAnswered += other.pingsAnswered
        sendRefused += other.sendRefused
        probesSent += other.probesSent
        probesAnswered += other.probesAnswered
        probedRings += other.probedRings
        if other.firstConnectNs != 0 && (firstConnectNs == 0 || other.firstConnectNs < firstConnectNs) {
            firstConnectNs = other.firstConnectNs
        }
        lastUpgradeNs = max(lastUpgradeNs, other.lastUpgradeNs)
    }
}

/// One connection as the load generator sees it (56 bytes).
struct LoadConnection {
    enum Phase: UInt8 { case free, connecting, handshake, open, closing }
    var generation: UInt32 = 0
    var phase = Phase.free
    /// Which of the precomputed upgrade requests it sent (UpgradeRequests).
    var requestVariant: UInt8 = 0
    var probeAnswered = false
    var inFlight: UInt16 = 0
    var check = UpgradeCheck()
    var reader = ServerFrameReader()
    /// trickle: when the last message left; broadcast: the newest publish timestamp received.
    var sentAtNs: UInt64 = 0
}

/// A small, fast generator for trickle delays (SplitMix64).
struct SplitMix {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
