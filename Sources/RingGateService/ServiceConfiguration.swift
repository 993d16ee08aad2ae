public import RingGateway
public import Logging

/// Everything `ringgate` runs with: the gateway itself plus how it is operated (admin server,
/// logs, drain, restart). Filled from defaults, a file, the environment and flags by
/// `SettingsLoader`; each key is declared once in `SettingKey.all`.
public struct ServiceConfiguration: Sendable {
    public var gateway = GatewayConfiguration()
    /// The wss:// listener; `SettingsLoader` copies it into `gateway.engine` once checked.
    public var tls = TLSSettings()
    /// Address of the admin server (`/metrics`, `/healthz`, `/readyz`).
    public var adminHost = "127.0.0.1"
    /// Port of the admin server; 0 picks a free one; nil runs none.
    public var adminPort: UInt16?
    public var logLevel = Logger.Level.info
    /// Drained connections are closed at start + hash(slot) spread over this window, so clients
    /// do not all reconnect in the same second.
    public var drainWindowMs: UInt32 = 10_000
    /// The process exits this long after a drain began even if connections remain.
    public var drainTimeoutMs: UInt32 = 30_000
    /// Period of the stats line on stderr; 0 prints it only at exit.
    public var statsIntervalMs: UInt32 = 0
    /// Unix socket on which this process hands its listeners to a successor.
    public var controlSocket: String?
    /// Unix socket of a running gateway to take the listeners over from.
    public var takeover: String?

    public init() {}
}
