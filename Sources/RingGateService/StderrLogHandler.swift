import RingGateway
public import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Log lines on stderr, one per event: `LABEL: message key=value ...` ("ringgate" for the
/// gateway, "ringcore" for the C core), with the level written out (`ringgate: warning: ...`)
/// for every level but info, so the established info lines ("ringgate: listening on
/// HOST:PORT ...", the stats line) keep their shape for the scripts that read them. The level
/// is process-wide and changes on SIGHUP.
public struct StderrLogHandler: LogHandler {
    private static let level = Atomic<Int>(Logger.Level.allCases.firstIndex(of: .info)!)

    public var metadata: Logger.Metadata = [:]
    public let label: String

    public init(label: String) { self.label = label }

    /// Sets the level of every logger, from any thread.
    public static func setLevel(_ level: Logger.Level) {
        Self.level.store(Logger.Level.allCases.firstIndex(of: level)!, ordering: .relaxed)
    }

    public var logLevel: Logger.Level {
        get { Logger.Level.allCases[Self.level.load(ordering: .relaxed)] }
        set { Self.setLevel(newValue) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var text = event.level == .info ? "\(label): \(event.message)" : "\(label): \(event.level): \(event.message)"
        let merged = event.metadata.map { metadata.merging($0) { $1 } } ?? metadata
        for key in merged.keys.sorted() { text += " \(key)=\(merged[key]!)" }
        text += "\n"
        // One write per line, so lines from different threads never interleave.
        _ = text.withCString { write(2, $0, strlen($0)) }
    }
}
