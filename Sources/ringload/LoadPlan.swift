/// What a run does, from the command line.
struct LoadPlan: Sendable {
    enum Scenario: String, Sendable, CaseIterable {
        /// Open, upgrade and hold connections; answer pings.
        case idle
        /// Each connection sends a 1-byte message at random intervals and expects it back.
        case trickle
        /// Each connection keeps `inFlight` messages of `messageBytes` bytes in flight.
        case echo
        /// Receive only: a worker publishes `messages` timestamped messages to every connection.
        case broadcast
    }

    var scenario: Scenario
    var host: String
    var port: UInt16
    var path: String
    var connections: Int
    var durationSeconds: Double
    var workers: Int
    /// New connections per second, over all workers.
    var rampPerSecond: Int
    /// At most this many connections per worker between connect and upgrade (0: no bound). With a
    /// ramp faster than the server, this keeps the listen backlog from overflowing, so the upgrade
    /// rate is the server's and not the SYN retry timer's.
    var maxPendingPerWorker: Int = 0
    /// Source addresses 127.0.0.1 ... 127.0.0.K (IPv4 loopback only); 0: the kernel's choice.
    var sourceAddresses: Int
    var messageBytes: Int
    var inFlight: Int
    /// broadcast: how many messages the publisher sends, to count the missing deliveries.
    var messages: Int
    var trickleMinMs: Int
    var trickleMaxMs: Int
    var tickMs: UInt32
    var receiveBufferBytes: UInt32
    var receiveBufferCount: UInt32
    var batchWaitMicroseconds: UInt32 = 0
    var serverPID: Int32?
    var json: Bool
    /// End-of-hold probes per second, over all workers.
    var probePerSecond: Int = 20_000
    /// How long the end-of-hold probes may take to come back: three times their pacing, 30 s at least.
    var probeTimeoutSeconds: Double {
        max(30, 3 * Double(connections) / Double(max(1, probePerSecond)))
    }
    /// trickle: messages each connection sends per second on average (1 / mean interval).
    var trickleMessagesPerConnectionSecond: Double {
        2000 / Double(trickleMinMs + trickleMaxMs)
    }
}
