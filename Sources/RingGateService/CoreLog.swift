import RingGateway
import CRingCore
import Logging

/// The C core's log lines, through swift-log under the label "ringcore", so `--log-level`
/// filters them like the gateway's own. The core only calls a function pointer
/// (`rg_log_set_sink`); it links no logging library and writes to stderr wherever this is
/// not installed (its own tests, ringload).
public enum CoreLog {
    static let logger = Logger(label: "ringcore")

    /// Routes the core's lines to swift-log; call after `LoggingSystem.bootstrap` and before
    /// the gateway is created (the engine logs while it sizes its tables).
    public static func install() {
        rg_log_set_sink { level, line in
            guard let line else { return }
            CoreLog.logger.log(level: Logger.Level(core: level), "\(String(cString: line))")
        }
    }
}

extension Logger.Level {
    /// The swift-log level of a core level; the enums share their order.
    init(core level: rg_log_level) {
        switch level {
        case RG_LOG_DEBUG: self = .debug
        case RG_LOG_INFO: self = .info
        case RG_LOG_NOTICE: self = .notice
        case RG_LOG_WARNING: self = .warning
        case RG_LOG_CRITICAL: self = .critical
        default: self = .error
        }
    }
}
