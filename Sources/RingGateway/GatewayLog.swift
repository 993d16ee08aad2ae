public import Logging

/// The gateway's own log lines, through swift-log under the label "ringgate"; `ringgate`
/// bootstraps the handler and sets the level (--log-level, SIGHUP). Never a line per message.
enum GatewayLog {
    static let logger = Logger(label: "ringgate")
}
