/// What the broadcast scenario measured, merged over the load workers' tallies.
///
/// Latency runs from the publisher's send timestamp (taken just before it wrote PUBLISH to the
/// gateway's worker socket, on the same machine's CLOCK_MONOTONIC) to the moment a load worker
/// handled the batch of completions holding the delivery. "Until the last subscriber" is, per
/// message, the latest of those moments over every connection that received it.
struct BroadcastReport {
    /// The publisher's message count, from --messages.
    var messagesExpected = 0
    /// Distinct messages that reached at least one connection.
    var messagesSeen = 0
    /// Connections that upgraded, each subscribed by the worker.
    var subscribers = 0
    var deliveries = 0
    /// Expected deliveries (messages x subscribers) that never came.
    var missingDeliveries = 0
    var outOfOrder = 0
    var overflowDeliveries = 0
    /// Deliveries over the span from the first publish to the last delivery.
    var deliveriesPerSecond = 0.0
    var spanSeconds = 0.0
    /// Per message, microseconds from publish until the last subscriber had it (nearest rank).
    var untilLastMicros: (p50: Double, p99: Double, max: Double) = (0, 0, 0)
    /// Subscribers divided by the median time until the last one had a message: one message's fan-out rate.
    var fanoutPerSecond = 0.0
    /// Each message as (sent, deliveries, microseconds until the last), oldest first; only for small runs.
    var perMessage: [(sentNs: UInt64, deliveries: Int, untilLastMicros: Double)] = []

    static let perMessageLimit = 1000

    init() {}

    init(tallies: [BroadcastTally], messagesExpected: Int, subscribers: Int) {
        self.messagesExpected = messagesExpected
        self.subscribers = subscribers
        var merged: [UInt64: (deliveries: Int, lastNs: UInt64)] = [:]
        for tally in tallies {
            outOfOrder += tally.outOfOrder
            overflowDeliveries += tally.overflowDeliveries
            for entry in tally.entries() {
                let old = merged[entry.sentNs] ?? (0, 0)
                merged[entry.sentNs] = (old.deliveries + entry.deliveries, max(old.lastNs, entry.lastNs))
            }
        }
        let messages = merged.sorted { $0.key < $1.key }
        messagesSeen = messages.count
        deliveries = messages.reduce(0) { $0 + $1.value.deliveries } + overflowDeliveries
        let counted = messages.prefix(messagesExpected).reduce(0) { $0 + min($1.value.deliveries, subscribers) }
        missingDeliveries = max(0, messagesExpected * subscribers - counted)
        guard let first = messages.first else { return }
        let lastNs = messages.map { $0.value.lastNs }.max() ?? first.key
        spanSeconds = Double(lastNs &- first.key) / 1e9
        deliveriesPerSecond = spanSeconds > 0 ? Double(deliveries) / spanSeconds : 0
        let untilLast = messages.map { Double($0.value.lastNs &- $0.key) / 1000 }.sorted()
        untilLastMicros = (Self.rank(untilLast, 50), Self.rank(untilLast, 99), untilLast.last ?? 0)
        fanoutPerSecond = untilLastMicros.p50 > 0 ? Double(subscribers) / (untilLastMicros.p50 / 1e6) : 0
        if messages.count <= Self.perMessageLimit {
            perMessage = messages.map { ($0.key, $0.value.deliveries, Double($0.value.lastNs &- $0.key) / 1000) }
        }
    }

    /// Nearest-rank percentile of ascending `values`.
    private static func rank(_ values: [Double], _ percent: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let index = Int((percent / 100 * Double(values.count)).rounded(.up)) - 1
        return values[min(values.count - 1, max(0, index))]
    }

    func summaryLines() -> [String] {
        [
            "broadcast: \(messagesSeen) of \(messagesExpected) messages seen, \(deliveries) deliveries to "
                + "\(subscribers) subscribers, \(missingDeliveries) missing, \(outOfOrder) out of order",
            "deliveries/s \(Int(deliveriesPerSecond)) over \(String(format1: spanSeconds)) s (first publish to last delivery); "
                + "one message's fan-out \(Int(fanoutPerSecond))/s",
            "until the last subscriber us: p50 \(String(format1: untilLastMicros.p50)) p99 \(String(format1: untilLastMicros.p99)) "
                + "max \(String(format1: untilLastMicros.max))",
        ]
    }

    func jsonFields() -> [(String, String)] {
        [
            ("messages_expected", "\(messagesExpected)"), ("messages_seen", "\(messagesSeen)"),
            ("subscribers", "\(subscribers)"), ("deliveries", "\(deliveries)"),
            ("missing_deliveries", "\(missingDeliveries)"), ("out_of_order", "\(outOfOrder)"),
            ("overflow_deliveries", "\(overflowDeliveries)"),
            ("deliveries_per_second", "\(deliveriesPerSecond)"), ("span_seconds", "\(spanSeconds)"),
            ("fanout_per_second", "\(fanoutPerSecond)"),
            ("until_last_us", "{\"p50\": \(untilLastMicros.p50), \"p99\": \(untilLastMicros.p99), \"max\": \(untilLastMicros.max)}"),
            ("per_message", "[" + perMessage.map {
                "{\"sent_ns\": \($0.sentNs), \"deliveries\": \($0.deliveries), \"until_last_us\": \($0.untilLastMicros)}"
            }.joined(separator: ", ") + "]"),
        ]
    }
}
