import Logging
import RingGateService
import RingGateway
#if canImport(Glibc)
import Glibc
#endif

// ringgate: settings -> RingGateway. Settings come from flags, RINGGATE_* variables and a
// `--config` file, with that precedence; SettingKey.all declares every key (and drives --help).

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.contains("--help") || arguments.contains("-h") {
    print(HelpText.render(), terminator: "")
    exit(0)
}

let settings: ServiceConfiguration
let environment = processEnvironment()
do {
    settings = try SettingsLoader.load(arguments: arguments, environment: environment)
} catch {
    say("ringgate: error: \(error)")
    exit(2)
}
for unknown in SettingsLoader.unknownEnvironment(environment) {
    let hint = unknown.suggestion.map { " (did you mean \($0)?)" } ?? ""
    say("ringgate: warning: \(unknown.name) is not a setting\(hint); it is ignored")
}
LoggingSystem.bootstrap { StderrLogHandler(label: $0) }
StderrLogHandler.setLevel(settings.logLevel)
CoreLog.install()
exit(Service(settings: settings, arguments: arguments).run())

/// The environment as a dictionary, read without Foundation.
func processEnvironment() -> [String: String] {
    var result: [String: String] = [:]
    var pointer = environ
    while let entry = pointer.pointee {
        let text = String(cString: entry)
        if let equals = text.firstIndex(of: "=") {
            result[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        pointer += 1
    }
    return result
}

/// Writes one line to stderr (before logging is set up).
func say(_ line: String) {
    let text = line + "\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
}
