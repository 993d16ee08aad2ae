import Histogram

/// What a run measured, printed for people or as JSON for scripts.
struct LoadResult {
    let plan: LoadPlan
    var counters = LoadCounters()
    var latency: Histogram<UInt64>?
    var rampSeconds = 0.0
    /// The ramp's bound (twice the planned time plus 30 s), and whether it ended the ramp.
    var rampLimitSeconds = 0.0
    var rampHitLimit = false
    var holdSeconds = 0.0
    var messagesPerSecond = 0.0
    /// Messages ringload sent per second during the hold (trickle: against the nominal rate).
    var sentPerSecond = 0.0
    var openAtEnd = 0
    var closedByServerInHold = 0
    var serverCPUSecondsHold: Double?
    /// Whether the end-of-hold probes ran (not for broadcast), and how long they took.
    var probed = false
    var probeSeconds = 0.0
    var serverRSSBytes: Int?
    var serverRSSPerConnection: Double?
    var serverCPUPercent: Double?
    var kernelBytesPerConnectionPair: Double?
    /// Growth of kernel slab objects in use over the same span, per pair.
    var kernelSlabBytesPerConnectionPair: Double?
    var ownCPUPercent = 0.0
    var ownCPUPercentWholeRun = 0.0
    /// CPU shares from the start of the run to the end of the ramp, where the upgrades happen.
    var ownCPUPercentRamp = 0.0
    var serverCPUPercentRamp: Double?
    var broadcast: BroadcastReport?

    /// ringload's CPU per core it ran on: its rings, but no more than the CPUs it may use (taskset
    /// may pin several rings to one core); above 90 % the client, not the server, may be the limit.
    var ownCPUPercentPerCore: Double {
        ownCPUPercent / Double(min(plan.workers, ProcessProbe.allowedCPUCount()))
    }
    var clientSaturated: Bool { ownCPUPercentPerCore > 90 }
    var ownCPUPercentPerCoreRamp: Double {
        ownCPUPercentRamp / Double(min(plan.workers, ProcessProbe.allowedCPUCount()))
    }
    var clientSaturatedRamp: Bool { ownCPUPercentPerCoreRamp > 90 }

    /// Upgrades over the span from the first connect to the last upgrade.
    var upgradesPerSecond: Double {
        let first = counters.firstConnectNs, last = counters.lastUpgradeNs
        guard counters.upgraded > 0, first != 0, last > first else { return 0 }
        return Double(counters.upgraded) / (Double(last - first) / 1e9)
    }

    var failures: Int { counters.connectFailures.values.reduce(0, +) + counters.handshakeFailures }

    /// Every connection counted: attempted = upgraded + not upgraded; of the upgraded, held
    /// means its probe's echo came back at the end of the hold.
    var attempted: Int { plan.connections }
    var notUpgraded: Int { attempted - counters.upgraded }
    var held: Int { probed ? counters.probesAnswered : openAtEnd }

    /// trickle: the rate the plan asks for with every connection open.
    var nominalSendPerSecond: Double? {
        plan.scenario == .trickle ? Double(openAtEnd) * plan.trickleMessagesPerConnectionSecond : nil
    }

    /// Gateway CPU per upgrade over the ramp (all its work then, the traffic of the connections
    /// already up included) and per message echoed over the hold, in microseconds.
    var serverMicrosPerUpgrade: Double? {
        serverCPUPercentRamp.flatMap { counters.upgraded > 0 ? $0 / 100 * rampSeconds / Double(counters.upgraded) * 1e6 : nil }
    }

    /// Connections the run lost, in words; empty when every connection attempted was upgraded
    /// and held. Any of them makes ringload exit with status 1.
    var problems: [String] {
        var list: [String] = []
        if rampHitLimit {
            list.append("the ramp hit its limit of \(Int(rampLimitSeconds)) s with \(notUpgraded) connections not upgraded")
        } else if notUpgraded > 0 {
            list.append("\(notUpgraded) of \(attempted) connections not upgraded")
        }
        if counters.upgraded > 0 && held < counters.upgraded {
            list.append(probed
                ? "\(counters.upgraded - held) of \(counters.upgraded) upgraded connections not held (no echo of the end-of-hold probe)"
                : "\(counters.upgraded - held) of \(counters.upgraded) upgraded connections not open at the end")
        }
        return list
    }

    /// What makes the figures the client's rather than the server's, in words: a client above
    /// 90 % of its core, a trickle below 90 % of its nominal rate, sends ringload's own pool
    /// held back. The bench scripts fail on them.
    var flags: [String] {
        var list: [String] = []
        if clientSaturatedRamp {
            list.append("client saturated during the ramp (\(Int(ownCPUPercentPerCoreRamp)) % of its core)")
        }
        if clientSaturated {
            list.append("client saturated during the hold (\(Int(ownCPUPercentPerCore)) % of its core)")
        }
        if let nominal = nominalSendPerSecond, nominal > 0, sentPerSecond < 0.9 * nominal {
            list.append("trickle rate \(Int(sentPerSecond))/s below 90 % of the nominal \(Int(nominal))/s")
        }
        if counters.sendRefused > 0 {
            list.append("ringload's own send pool refused \(counters.sendRefused) sends (retried a tick later)")
        }
        return list
    }

    private func percentileMicros(_ p: Double) -> Double {
        guard let latency, latency.totalCount > 0 else { return 0 }
        return Double(latency.valueAtPercentile(p)) / 1000
    }

    func summary() -> String {
        var lines = [
            "scenario \(plan.scenario.rawValue): \(counters.upgraded) of \(plan.connections) connections upgraded, "
                + "\(failures) failed, ramp \(String(format1: rampSeconds)) s "
                + "(\(Int(upgradesPerSecond)) upgrades/s from first connect to last upgrade)",
            "attempted \(attempted), upgraded \(counters.upgraded), not upgraded \(notUpgraded), closed by the server "
                + "during the hold \(closedByServerInHold), held \(held)"
                + (probed ? " (probe echoed within \(String(format1: probeSeconds)) s)" : " (open at the end; not probed)")
                + " after \(String(format1: holdSeconds)) s",
            "messages sent \(counters.messagesSent), received \(counters.messagesReceived), "
                + "\(Int(messagesPerSecond)) msg/s while measuring; pings answered \(counters.pingsAnswered)",
        ]
        if !counters.serverCloseCodes.isEmpty {
            lines.append("close frames from the server by code: " + counters.serverCloseCodes.sorted { $0.key < $1.key }
                .map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
        if !counters.connectFailures.isEmpty {
            lines.append("connect failures by errno: " + counters.connectFailures.sorted { $0.key < $1.key }
                .map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
        if let latency, latency.totalCount > 0 {
            lines.append("latency us: p50 \(String(format1: percentileMicros(50))) p90 \(String(format1: percentileMicros(90))) "
                + "p99 \(String(format1: percentileMicros(99))) p99.9 \(String(format1: percentileMicros(99.9))) "
                + "max \(String(format1: Double(latency.max) / 1000))")
        }
        if let broadcast { lines += broadcast.summaryLines() }
        if let rss = serverRSSBytes {
            var line = "server RSS \(rss / 1024) KiB"
            if let per = serverRSSPerConnection { line += ", anonymous memory grew \(String(format1: per)) B per connection" }
            if let cpu = serverCPUPercent { line += ", CPU \(String(format1: cpu)) % of a core while measuring" }
            lines.append(line)
        }
        if let kernel = kernelBytesPerConnectionPair {
            lines.append("kernel memory (MemAvailable drop) \(String(format1: kernel)) B per connection pair")
        }
        if let slab = kernelSlabBytesPerConnectionPair {
            lines.append("kernel slab objects in use grew \(String(format1: slab)) B per connection pair")
        }
        var ramp = "during the ramp: ringload CPU \(String(format1: ownCPUPercentRamp)) %"
            + (clientSaturatedRamp ? " (SATURATED: the client may have set the upgrade rate)" : "")
        if let cpu = serverCPUPercentRamp { ramp += ", server CPU \(String(format1: cpu)) % of a core" }
        lines.append(ramp)
        lines.append("ringload CPU \(String(format1: ownCPUPercent)) % while measuring"
            + (clientSaturated ? " (SATURATED: the client may be the limit)" : ""))
        if let micros = serverMicrosPerUpgrade {
            lines.append("server CPU per upgrade over the ramp: \(String(format1: micros)) us")
        }
        lines.append(problems.isEmpty ? "problems: none" : "PROBLEMS: " + problems.joined(separator: "; "))
        lines.append(flags.isEmpty ? "flags: none" : "FLAGS: " + flags.joined(separator: "; "))
        return lines.joined(separator: "\n")
    }

    func json() -> String {
        var fields: [(String, String)] = [
            ("scenario", "\"\(plan.scenario.rawValue)\""), ("connections", "\(plan.connections)"),
            ("upgraded", "\(counters.upgraded)"), ("failures", "\(failures)"),
            ("connect_failures", "{" + counters.connectFailures.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }
                .joined(separator: ", ") + "}"),
            ("handshake_failures", "\(counters.handshakeFailures)"), ("closed_by_server", "\(counters.closedByServer)"),
            ("server_close_codes", "{" + counters.serverCloseCodes.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }
                .joined(separator: ", ") + "}"),
            ("attempted", "\(attempted)"), ("not_upgraded", "\(notUpgraded)"), ("held", "\(held)"), ("probed", "\(probed)"),
            ("probes_sent", "\(counters.probesSent)"), ("probe_seconds", "\(probeSeconds)"),
            ("closed_by_server_in_hold", "\(closedByServerInHold)"), ("ramp_hit_limit", "\(rampHitLimit)"),
            ("ramp_limit_seconds", "\(rampLimitSeconds)"), ("messages_sent_per_second", "\(sentPerSecond)"),
            ("ramp_seconds", "\(rampSeconds)"), ("hold_seconds", "\(holdSeconds)"), ("open_at_end", "\(openAtEnd)"),
            ("messages_sent", "\(counters.messagesSent)"), ("messages_received", "\(counters.messagesReceived)"),
            ("messages_per_second", "\(messagesPerSecond)"), ("pings_answered", "\(counters.pingsAnswered)"),
            ("send_refused", "\(counters.sendRefused)"),
            ("latency_us", "{\"p50\": \(percentileMicros(50)), \"p90\": \(percentileMicros(90)), \"p99\": \(percentileMicros(99)), "
                + "\"p999\": \(percentileMicros(99.9)), \"max\": \(Double(latency?.max ?? 0) / 1000)}"),
            ("ringload_cpu_percent", "\(ownCPUPercent)"), ("ringload_cpu_percent_per_core", "\(ownCPUPercentPerCore)"),
            ("ringload_saturated", "\(clientSaturated)"), ("upgrades_per_second", "\(upgradesPerSecond)"),
            ("ringload_ramp_cpu_percent", "\(ownCPUPercentRamp)"),
            ("ringload_ramp_cpu_percent_per_core", "\(ownCPUPercentPerCoreRamp)"),
            ("ringload_ramp_saturated", "\(clientSaturatedRamp)"),
        ]
        if let broadcast { fields += broadcast.jsonFields() }
        if let nominal = nominalSendPerSecond { fields.append(("nominal_messages_sent_per_second", "\(nominal)")) }
        if let micros = serverMicrosPerUpgrade { fields.append(("server_us_per_upgrade_ramp", "\(micros)")) }
        if let seconds = serverCPUSecondsHold { fields.append(("server_cpu_seconds_hold", "\(seconds)")) }
        fields.append(("problems", "[" + problems.map { "\"\($0)\"" }.joined(separator: ", ") + "]"))
        fields.append(("flags", "[" + flags.map { "\"\($0)\"" }.joined(separator: ", ") + "]"))
        if let rss = serverRSSBytes { fields.append(("server_rss_bytes", "\(rss)")) }
        if let per = serverRSSPerConnection { fields.append(("server_anon_bytes_per_connection", "\(per)")) }
        if let cpu = serverCPUPercent { fields.append(("server_cpu_percent", "\(cpu)")) }
        if let cpu = serverCPUPercentRamp { fields.append(("server_ramp_cpu_percent", "\(cpu)")) }
        if let kernel = kernelBytesPerConnectionPair { fields.append(("kernel_bytes_per_connection_pair", "\(kernel)")) }
        if let slab = kernelSlabBytesPerConnectionPair { fields.append(("kernel_slab_bytes_per_connection_pair", "\(slab)")) }
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }
}
