import CRingCore
import RingGateway

/// One `name=value` line of the gateway's and the core's counters.
enum StatsLine {
    static func render(_ gateway: Gateway) -> String {
        let core = gateway.coreStats
        var parts = gateway.counters.fields.map { "\($0.0)=\($0.1)" }
        parts += [
            "accepted=\(core.accepted)", "refused_table_full=\(core.refused_table_full)",
            "refused_over_limit=\(core.refused_over_limit)",
            "recv_enobufs=\(core.recv_enobufs)", "send_partial=\(core.send_partial)",
            "peer_resets=\(core.peer_resets)",
        ]
        if let backend = gateway.backendCounters { parts += backend.fields.map { "\($0.0)=\($0.1)" } }
        return parts.joined(separator: " ")
    }
}
