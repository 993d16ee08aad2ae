import RingEngine
import RingGateway

/// One `name=value` line of the gateway's and the core's counters.
enum StatsLine {
    static func render(_ gateway: Gateway) -> String {
        let core = gateway.coreStats
        var parts = gateway.counters.fields.map { "\($0.0)=\($0.1)" }
        parts += [
            "accepted=\(core.accepted)", "refused_table_full=\(core.refusedTableFull)",
            "refused_over_limit=\(core.refusedOverLimit)",
            "recv_enobufs=\(core.recvEnobufs)", "send_partial=\(core.sendPartial)",
            "peer_resets=\(core.peerResets)",
            "tls_handshakes_full=\(core.tlsHandshakesFull)", "tls_handshakes_resumed=\(core.tlsHandshakesResumed)",
            "tls_handshake_failures=\(core.tlsHandshakeFailures)", "tls_errors=\(core.tlsErrors)",
        ]
        if let backend = gateway.backendCounters { parts += backend.fields.map { "\($0.0)=\($0.1)" } }
        return parts.joined(separator: " ")
    }
}
