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
            "tls_handshakes_full=\(core.tls_handshakes_full)", "tls_handshakes_resumed=\(core.tls_handshakes_resumed)",
            "tls_handshake_failures=\(core.tls_handshake_failures)", "tls_errors=\(core.tls_errors)",
        ]
        if let backend = gateway.backendCounters { parts += backend.fields.map { "\($0.0)=\($0.1)" } }
        return parts.joined(separator: " ")
    }
}
