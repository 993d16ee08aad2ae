import RingGateService
import RingGateway

/// `ringgate --help`, generated from the settings table so it always lists every key.
enum HelpText {
    static func render() -> String {
        let defaults = ServiceConfiguration()
        var text = """
            ringgate: a WebSocket gateway on io_uring.

            USAGE: ringgate [--config FILE] [--KEY VALUE ...]

            Every setting can come from a flag (--KEY VALUE or --KEY=VALUE), an environment variable
            (RINGGATE_KEY, dashes as underscores, lists comma-separated) or the file named by --config
            or RINGGATE_CONFIG (KEY = VALUE lines; see docs/ringgate.example.toml). Precedence:
            flags > environment > file > defaults. Durations are in seconds; fractions are allowed.
            Without a backend, the built-in demo application echoes every message to its sender.

            Signals: SIGTERM or SIGINT drains (stop accepting, close clients with 1001 spread over
            --drain-window, exit when none remain or after --drain-timeout; a second signal stops at
            once). SIGHUP re-reads the settings and applies the keys marked [reload].
            Admin server (with --admin-port): GET /metrics, /healthz, /readyz (503 while draining).

            SETTINGS:

            """
        for key in SettingKey.all {
            let usage = key.isFlag ? key.flag : "\(key.flag) \(key.valueHint)"
            text += "  \(usage)\n"
            var help = "      \(key.help)"
            if !key.isFlag { help += " Default: \(key.value(in: defaults))." }
            if key.isList { help += " Repeatable." }
            if key.reloadable { help += " [reload]" }
            text += help + "\n      env \(key.environmentName), file key \(key.name)\n"
        }
        text += "\n  --config FILE\n      Read settings from FILE (env RINGGATE_CONFIG).\n  -h, --help\n      Show this help.\n"
        return text
    }
}
