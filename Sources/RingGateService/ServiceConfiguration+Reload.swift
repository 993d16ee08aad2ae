public import RingGateway
import RingEngine
import RingWebSocket

// What SIGHUP changes in a running gateway. A key is reloadable (`SettingKey.reloadable`, shown
// as [reload] in --help) when the value below takes it from the fresh settings; a test holds the
// two lists together (GatewayConfiguration.reloading(from:) holds the per-connection part). The rest are sized or bound at start (workers, tables, buffers, listeners,
// the wheel) and wait for a restart (--takeover).

extension ServiceConfiguration {
    /// The settings to run with after SIGHUP: `fresh`'s value for every reloadable key, the
    /// running value for every other.
    public func reloading(from fresh: ServiceConfiguration) -> ServiceConfiguration {
        var next = self
        next.gateway = gateway.reloading(from: fresh.gateway)
        next.tls = TLSSettings(reloadedFrom: fresh.tls, keeping: tls)
        next.logLevel = fresh.logLevel
        next.statsIntervalMs = fresh.statsIntervalMs
        next.drainWindowMs = fresh.drainWindowMs
        next.drainTimeoutMs = fresh.drainTimeoutMs
        return next
    }
}

extension TLSSettings {
    /// `fresh`'s certificate keys over `running`'s listener keys (port, no-plain), which only a
    /// restart changes.
    public init(reloadedFrom fresh: TLSSettings, keeping running: TLSSettings) {
        self = fresh
        port = running.port
        noPlain = running.noPlain
    }
}
