import RingGateway
#if canImport(Glibc)
import Glibc
#endif

/// A setting that could not be read, naming the key, where the value came from and what is allowed.
public struct SettingError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One configuration key: its name in every source, its help, and how a value lands in
/// `ServiceConfiguration`. The key `max-connections` is `--max-connections` on the command line,
/// `RINGGATE_MAX_CONNECTIONS` in the environment and `max-connections` in the file.
public struct SettingKey: Sendable {
    public let name: String
    /// What a value looks like, for `--help` ("<seconds>", "recv|poll").
    public let valueHint: String
    public let help: String
    /// Repeatable on the command line, an array in the file, comma-separated in the environment.
    public let isList: Bool
    /// Takes no value on the command line; `true` or `false` in the file and environment.
    public let isFlag: Bool
    /// Whether SIGHUP applies a new value without a restart.
    public let reloadable: Bool
    /// Stores `values` (one unless `isList`); throws a message saying what is allowed.
    let store: @Sendable (inout ServiceConfiguration, [String]) throws -> Void
    /// The value as set, for `--help` defaults and reload comparisons.
    let show: @Sendable (ServiceConfiguration) -> String

    public var flag: String { "--" + name }
    public var environmentName: String {
        "RINGGATE_" + String(name.map { $0 == "-" ? "_" : Character($0.uppercased()) })
    }

    /// The value of this key in `configuration`, as `--help` shows defaults.
    public func value(in configuration: ServiceConfiguration) -> String { show(configuration) }

    /// Applies `values` that came from `origin`, wrapping a refusal into a message naming both.
    func apply(_ values: [String], from origin: String, to configuration: inout ServiceConfiguration) throws(SettingError) {
        do {
            try store(&configuration, values)
        } catch let problem as Refusal {
            let shown = values.joined(separator: ",")
            throw SettingError("invalid value '\(shown)' for \(name) (from \(origin)): expected \(problem.allowed)")
        } catch {
            throw SettingError("invalid value for \(name) (from \(origin)): \(error)")
        }
    }

    /// What a key accepts, thrown by `store`.
    struct Refusal: Error { let allowed: String }
}

// Constructors, one per kind of value, so the table in SettingKey+All.swift stays one entry per key.
extension SettingKey {
    typealias Path<T> = WritableKeyPath<ServiceConfiguration, T> & Sendable

    static func integer<T: FixedWidthInteger & Sendable>(
        _ name: String, _ path: Path<T>, _ range: ClosedRange<T>, hint: String = "<n>", reloadable: Bool = false,
        _ help: String
    ) -> SettingKey {
        SettingKey(name: name, valueHint: hint, help: help, isList: false, isFlag: false, reloadable: reloadable,
                   store: { config, values in
                       guard let value = T(values.last!), range.contains(value) else {
                           throw Refusal(allowed: "an integer from \(range.lowerBound) to \(range.upperBound)")
                       }
                       config[keyPath: path] = value
                   }, show: { "\($0[keyPath: path])" })
    }

    /// A power of two in `range` (or 0, where the range holds it: the core's choice).
    static func powerOfTwo<T: FixedWidthInteger & Sendable>(
        _ name: String, _ path: Path<T>, _ range: ClosedRange<T>, _ help: String
    ) -> SettingKey {
        SettingKey(name: name, valueHint: "<n>", help: help, isList: false, isFlag: false, reloadable: false,
                   store: { config, values in
                       guard let value = T(values.last!), range.contains(value), value & (value &- 1) == 0 else {
                           throw Refusal(allowed: "a power of two from \(range.lowerBound) to \(range.upperBound)")
                       }
                       config[keyPath: path] = value
                   }, show: { "\($0[keyPath: path])" })
    }

    /// Seconds (fractions allowed), stored as whole milliseconds rounded up.
    static func seconds(
        _ name: String, _ path: Path<UInt32>, allowsZero: Bool, reloadable: Bool = false, _ help: String
    ) -> SettingKey {
        let maximum = 2_592_000.0  // 30 days: far beyond any sane timeout, still far from UInt32 ms overflow
        return SettingKey(name: name, valueHint: "<seconds>", help: help, isList: false, isFlag: false,
                          reloadable: reloadable, store: { config, values in
                              guard let value = Double(values.last!), value.isFinite, value <= maximum,
                                    allowsZero ? value >= 0 : value > 0
                              else {
                                  throw Refusal(allowed: allowsZero ? "seconds from 0 to 2592000"
                                                                    : "seconds above 0, up to 2592000")
                              }
                              config[keyPath: path] = UInt32((value * 1000).rounded(.up))
                          }, show: { format(milliseconds: $0[keyPath: path]) })
    }

    /// One of a fixed set of words.
    static func choice<T: Equatable & Sendable>(
        _ name: String, _ path: Path<T>, _ choices: [(String, T)], reloadable: Bool = false, _ help: String
    ) -> SettingKey {
        let words = choices.map(\.0)
        return SettingKey(name: name, valueHint: words.joined(separator: "|"), help: help, isList: false, isFlag: false,
                          reloadable: reloadable, store: { config, values in
                              guard let match = choices.first(where: { $0.0 == values.last! }) else {
                                  throw Refusal(allowed: "one of " + words.joined(separator: ", "))
                              }
                              config[keyPath: path] = match.1
                          }, show: { config in choices.first { $0.1 == config[keyPath: path] }?.0 ?? "?" })
    }

    /// A value `parse` reads (nil for text it refuses); `describe` shows it back.
    static func parsed<T: Sendable>(
        _ name: String, _ path: Path<T>, hint: String, allowed: String, reloadable: Bool = false,
        parse: @escaping @Sendable (String) -> T?, describe: @escaping @Sendable (T) -> String, _ help: String
    ) -> SettingKey {
        SettingKey(name: name, valueHint: hint, help: help, isList: false, isFlag: false, reloadable: reloadable,
                   store: { config, values in
                       guard let value = parse(values.last!) else { throw Refusal(allowed: allowed) }
                       config[keyPath: path] = value
                   }, show: { describe($0[keyPath: path]) })
    }

    /// Values `parse` reads together (nil when it refuses them), repeatable.
    static func parsedList<T: Sendable>(
        _ name: String, _ path: Path<[T]>, hint: String, allowed: String, reloadable: Bool = false,
        parse: @escaping @Sendable ([String]) -> [T]?, describe: @escaping @Sendable ([T]) -> String, _ help: String
    ) -> SettingKey {
        SettingKey(name: name, valueHint: hint, help: help, isList: true, isFlag: false, reloadable: reloadable,
                   store: { config, values in
                       guard let parsed = parse(values) else { throw Refusal(allowed: allowed) }
                       config[keyPath: path] = parsed
                   }, show: { describe($0[keyPath: path]) })
    }

    /// A file to read (a certificate, a key); unset by default.
    static func file(_ name: String, _ path: Path<String?>, reloadable: Bool = false, _ help: String) -> SettingKey {
        SettingKey(name: name, valueHint: "<file>", help: help, isList: false, isFlag: false, reloadable: reloadable,
                   store: { config, values in
                       let value = values.last!
                       guard !value.isEmpty, value.utf8.count < 4096, !value.utf8.contains(0) else {
                           throw Refusal(allowed: "a file path of 1 to 4095 bytes")
                       }
                       config[keyPath: path] = value
                   }, show: { $0[keyPath: path] ?? "(none)" })
    }

    /// An IPv4 or IPv6 literal.
    static func address(_ name: String, _ path: Path<String>, _ help: String) -> SettingKey {
        SettingKey(name: name, valueHint: "<address>", help: help, isList: false, isFlag: false, reloadable: false,
                   store: { config, values in
                       guard isAddressLiteral(values.last!) else {
                           throw Refusal(allowed: "an IPv4 or IPv6 address literal (e.g. 127.0.0.1, 0.0.0.0, ::)")
                       }
                       config[keyPath: path] = values.last!
                   }, show: { $0[keyPath: path] })
    }

    /// A filesystem path; unset by default.
    static func path(_ name: String, _ path: Path<String?>, _ help: String) -> SettingKey {
        SettingKey(name: name, valueHint: "<path>", help: help, isList: false, isFlag: false, reloadable: false,
                   store: { config, values in
                       let value = values.last!
                       guard !value.isEmpty, value.utf8.count < 108 else {
                           throw Refusal(allowed: "a Unix socket path of 1 to 107 bytes")
                       }
                       config[keyPath: path] = value
                   }, show: { $0[keyPath: path] ?? "(none)" })
    }

    /// A port, or unset to turn the feature off.
    static func optionalPort(_ name: String, _ path: Path<UInt16?>, _ help: String) -> SettingKey {
        SettingKey(name: name, valueHint: "<port>", help: help, isList: false, isFlag: false, reloadable: false,
                   store: { config, values in
                       guard let value = UInt16(values.last!) else { throw Refusal(allowed: "a port from 0 to 65535") }
                       config[keyPath: path] = value
                   }, show: { $0[keyPath: path].map { "\($0)" } ?? "(off)" })
    }

    /// Words, repeatable.
    static func list(_ name: String, _ path: Path<[String]>, _ help: String) -> SettingKey {
        SettingKey(name: name, valueHint: "<text>", help: help, isList: true, isFlag: false, reloadable: false,
                   store: { config, values in
                       guard values.allSatisfy({ !$0.isEmpty && !$0.contains(where: { $0 == " " || $0 == "," }) }) else {
                           throw Refusal(allowed: "non-empty words without spaces or commas")
                       }
                       config[keyPath: path] = values
                   }, show: { $0[keyPath: path].isEmpty ? "(none)" : $0[keyPath: path].joined(separator: ",") })
    }

    /// On or off; on the command line its presence means on.
    static func flag(_ name: String, _ path: Path<Bool>, _ help: String) -> SettingKey {
        SettingKey(name: name, valueHint: "", help: help, isList: false, isFlag: true, reloadable: false,
                   store: { config, values in
                       switch values.last! {
                       case "true", "1", "yes": config[keyPath: path] = true
                       case "false", "0", "no": config[keyPath: path] = false
                       default: throw Refusal(allowed: "true or false")
                       }
                   }, show: { "\($0[keyPath: path])" })
    }

    static func format(milliseconds: UInt32) -> String {
        milliseconds % 1000 == 0 ? "\(milliseconds / 1000)" : "\(Double(milliseconds) / 1000)"
    }

    static func isAddressLiteral(_ text: String) -> Bool {
        var storage = in6_addr()
        return inet_pton(AF_INET, text, &storage) == 1 || inet_pton(AF_INET6, text, &storage) == 1
    }
}
