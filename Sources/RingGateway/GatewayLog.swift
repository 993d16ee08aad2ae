#if canImport(Glibc)
import Glibc
#endif

/// Where the gateway's own log lines go: one line each, never per message.
/// The command line may replace the sink (structured logging); the default
/// writes `ringgate: <line>` to stderr.
public enum GatewayLog {
    nonisolated(unsafe) public static var sink: @Sendable (String) -> Void = { line in
        let text = "ringgate: " + line + "\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
    }

    static func say(_ line: String) { sink(line) }
}
