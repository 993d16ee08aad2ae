import CRingCore
import Synchronization

/// The core's log levels, in swift-log's order.
public enum CoreLogLevel: Sendable {
    case debug, info, notice, warning, error, critical
}

public enum CoreLogSink {
    private static let sink = Mutex<(@Sendable (CoreLogLevel, String) -> Void)?>(nil)

    /// Sends the core's log lines to `handler`, process-wide. Install it before the engine is
    /// created (the engine logs while it sizes its tables). Lines are few (start-up notes,
    /// fallbacks, rate-limited counts), so the lock taken per line costs nothing that matters.
    public static func install(_ handler: @escaping @Sendable (CoreLogLevel, String) -> Void) {
        sink.withLock { $0 = handler }
        rg_log_set_sink { level, line in
            guard let line, let handler = CoreLogSink.sink.withLock({ $0 }) else { return }
            handler(CoreLogSink.level(level), String(cString: line))
        }
    }

    static func level(_ level: rg_log_level) -> CoreLogLevel {
        switch level {
        case RG_LOG_DEBUG: .debug
        case RG_LOG_INFO: .info
        case RG_LOG_NOTICE: .notice
        case RG_LOG_WARNING: .warning
        case RG_LOG_CRITICAL: .critical
        default: .error
        }
    }
}
