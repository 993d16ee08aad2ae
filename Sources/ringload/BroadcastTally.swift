/// Per-message delivery counts for the broadcast scenario, kept by one load worker.
///
/// A published message is named by the send timestamp its publisher put in the first eight
/// payload bytes (CLOCK_MONOTONIC nanoseconds, strictly increasing per publisher), so no
/// sequence number has to ride beside it. The table is open-addressed over fixed arrays sized
/// at start for twice the expected message count: recording a delivery never allocates.
/// Messages beyond the table's room are counted in `overflowDeliveries` and not tallied.
struct BroadcastTally {
    /// Send timestamps; 0 marks an empty entry (no publisher stamps 0).
    private(set) var sentNs: [UInt64]
    /// Deliveries of each message seen by this worker.
    private(set) var deliveries: [Int]
    /// When this worker saw each message's last delivery.
    private(set) var lastDeliveryNs: [UInt64]
    private let mask: Int
    private var used = 0
    /// Deliveries of messages that found no room (more distinct messages than planned).
    private(set) var overflowDeliveries = 0
    /// Deliveries whose timestamp was not above the connection's previous one: a duplicate
    /// or a reordering, neither of which a topic's in-order delivery allows. Not tallied.
    var outOfOrder = 0

    init(expectedMessages: Int) {
        var capacity = 16
        while capacity < expectedMessages * 2 { capacity <<= 1 }
        sentNs = [UInt64](repeating: 0, count: capacity)
        deliveries = [Int](repeating: 0, count: capacity)
        lastDeliveryNs = [UInt64](repeating: 0, count: capacity)
        mask = capacity - 1
    }

    /// Counts one delivery of the message stamped `sent`, seen at `nowNs`.
    mutating func record(sent: UInt64, nowNs: UInt64) {
        guard sent != 0 else { return }
        // Fibonacci hashing: consecutive timestamps spread over the table.
        var index = Int(truncatingIfNeeded: (sent &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
        while true {
            let key = sentNs[index]
            if key == sent {
                deliveries[index] += 1
                if nowNs > lastDeliveryNs[index] { lastDeliveryNs[index] = nowNs }
                return
            }
            if key == 0 {
                // Keep at least a quarter empty so probes stay short and always end.
                guard used < (mask + 1) * 3 / 4 else {
                    overflowDeliveries += 1
                    return
                }
                used += 1
                sentNs[index] = sent
                deliveries[index] = 1
                lastDeliveryNs[index] = nowNs
                return
            }
            index = (index + 1) & mask
        }
    }

    /// Every tallied message as (sent, deliveries, last delivery), in no particular order.
    func entries() -> [(sentNs: UInt64, deliveries: Int, lastNs: UInt64)] {
        var result: [(sentNs: UInt64, deliveries: Int, lastNs: UInt64)] = []
        for index in sentNs.indices where sentNs[index] != 0 {
            result.append((sentNs[index], deliveries[index], lastDeliveryNs[index]))
        }
        return result
    }
}
