import RingGateway
#if canImport(Glibc)
import Glibc
#endif

/// Builds a `ServiceConfiguration` from its sources with one precedence, highest first:
/// command-line flags, then environment variables (`RINGGATE_*`), then the file named by
/// `--config` (or `RINGGATE_CONFIG`), then the defaults. A list key takes all its values from the
/// highest source that sets it. Every value is checked as it is read; the first bad one stops
/// start-up with a message naming the key, its source and what is allowed.
public enum SettingsLoader {
    /// The configuration, or the first problem found.
    ///
    /// - Parameters:
    ///   - arguments: the command line without the program name.
    ///   - environment: the process environment.
    ///   - readFile: reads the configuration file (tests substitute their own).
    public static func load(
        arguments: [String], environment: [String: String],
        readFile: (String) throws(SettingError) -> String = SettingsLoader.readFile
    ) throws(SettingError) -> ServiceConfiguration {
        let flags = try parseFlags(arguments)
        var fileEntries: [String: (values: [String], origin: String)] = [:]
        if let path = flags.configPath ?? environment["RINGGATE_CONFIG"] {
            for entry in try SettingsFile.parse(try readFile(path), path: path) {
                guard SettingKey.named(entry.key) != nil else {
                    throw SettingError("\(path):\(entry.line): unknown key '\(entry.key)'; `ringgate --help` lists every key")
                }
                fileEntries[entry.key] = (entry.values, "\(path):\(entry.line)")
            }
        }
        var configuration = ServiceConfiguration()
        for key in SettingKey.all {
            if let given = flags.values[key.name] {
                try key.apply(given, from: key.flag, to: &configuration)
            } else if let text = environment[key.environmentName] {
                let values = key.isList ? text.split(separator: ",").map { String($0.trimmingSpaces) } : [text]
                try key.apply(values, from: key.environmentName, to: &configuration)
            } else if let (values, origin) = fileEntries[key.name] {
                if key.isList || values.count == 1 {
                    try key.apply(values, from: origin, to: &configuration)
                } else {
                    throw SettingError("\(origin): \(key.name) takes one value, not a list")
                }
            }
        }
        let problems = configuration.tls.problems() + configuration.gateway.problems()
        if let first = problems.first { throw SettingError(first) }
        configuration.tls.apply(to: &configuration.gateway.engine)
        return configuration
    }

    /// `RINGGATE_*` variables in `environment` that name no setting, each with the closest
    /// setting's variable when one is near (a misspelling), so start-up can say so instead of
    /// ignoring them without a word.
    public static func unknownEnvironment(_ environment: [String: String]) -> [(name: String, suggestion: String?)] {
        let known = Set(SettingKey.all.map(\.environmentName) + ["RINGGATE_CONFIG"])
        return environment.keys.sorted().filter { $0.hasPrefix("RINGGATE_") && !known.contains($0) }.map { name in
            let nearest = known.map { (candidate: $0, distance: editDistance(name, $0)) }.min { $0.distance < $1.distance }
            return (name, nearest.flatMap { $0.distance <= 3 ? $0.candidate : nil })
        }
    }

    /// Levenshtein distance, for suggestions; the names are short.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        var previous = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(1, b.count) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }

    /// Flags by key name (repeats collected in order), and the `--config` path.
    static func parseFlags(_ arguments: [String]) throws(SettingError) -> (values: [String: [String]], configPath: String?) {
        var values: [String: [String]] = [:]
        var configPath: String?
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw SettingError("unexpected argument '\(argument)'; settings are given as --key value (see --help)")
            }
            var name = String(argument.dropFirst(2))
            var inline: String?
            if let equals = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            let key = SettingKey.named(name)
            guard name == "config" || key != nil else {
                throw SettingError("unknown option '--\(name)'; `ringgate --help` lists every option")
            }
            let value: String
            if key?.isFlag == true {
                value = inline ?? "true"
            } else if let inline {
                value = inline
            } else {
                guard index < arguments.count else { throw SettingError("--\(name) needs a value") }
                value = arguments[index]
                index += 1
            }
            if name == "config" {
                configPath = value
            } else if key!.isList {
                values[name, default: []].append(value)
            } else {
                values[name] = [value]
            }
        }
        return (values, configPath)
    }

    /// Reads a whole file, with an error naming it.
    public static func readFile(_ path: String) throws(SettingError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SettingError("cannot read the configuration file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw SettingError("cannot read the configuration file \(path): \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            bytes += chunk[..<count]
            guard bytes.count <= 1 << 20 else { throw SettingError("the configuration file \(path) is larger than 1 MiB") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SettingError("the configuration file \(path) is not UTF-8 text")
        }
        return text
    }
}
