import Logging
import RingEngine

/// The C core's log lines, through swift-log under the label "ringcore", so `--log-level`
/// filters them like the gateway's own. The core only calls a function pointer
/// (`CoreLogSink`); it links no logging library and writes to stderr wherever this is not
/// installed (its own tests, ringload).
public enum CoreLog {
    static let logger = Logger(label: "ringcore")

    /// Routes the core's lines to swift-log; call after `LoggingSystem.bootstrap` and before
    /// the gateway is created (the engine logs while it sizes its tables).
    public static func install() {
        CoreLogSink.install { level, line in CoreLog.logger.log(level: Logger.Level(core: level), "\(line)") }
    }
}

extension Logger.Level {
    /// The swift-log level of a core level; the enums share their order.
    init(core level: CoreLogLevel) {
        switch level {
        case .debug: self = .debug
        case .info: self = .info
        case .notice: self = .notice
        case .warning: self = .warning
        case .error: self = .error
        case .critical: self = .critical
        }
    }
}
