import Logging

/// The gateway's own log lines, through swift-log under the label "ringgate"; `ringgate`
/// bootstraps the handler and sets the level (--log-level, SIGHUP). Never a line per
/// message: what a client or worker can repeat is counted, and logged only when `isDue`.
enum GatewayLog {
    static let logger = Logger(label: "ringgate")

    /// Whether the `count`-th occurrence of a repeatable event gets a line: the first ten,
    /// then every 10,000th (the core's rate for its own refusals).
    static func isDue(_ count: UInt64) -> Bool { count <= 10 || count % 10_000 == 0 }
}
