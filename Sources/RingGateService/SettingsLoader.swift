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
