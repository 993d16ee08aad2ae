public import RingGateway
import RingEngine

/// One series of the `/metrics` page: a metric name, optional labels, and where its value comes
/// from. A new counter in GatewayCounters or rg_stats is one line in `GatewayMetrics.series`.
struct MetricSeries: Sendable {
    enum Kind: String, Sendable { case counter, gauge }
    let name: String
    let kind: Kind
    let help: String
    let labels: String
    let value: KeyPath<MetricsSnapshot, UInt64> & Sendable

    static func counter(_ name: String, _ labels: String = "", _ value: KeyPath<MetricsSnapshot, UInt64> & Sendable,
                        _ help: String) -> MetricSeries {
        MetricSeries(name: name, kind: .counter, help: help, labels: labels, value: value)
    }

    static func gauge(_ name: String, _ labels: String = "", _ value: KeyPath<MetricsSnapshot, UInt64> & Sendable,
                      _ help: String) -> MetricSeries {
        MetricSeries(name: name, kind: .gauge, help: help, labels: labels, value: value)
    }
}

/// The Prometheus text format (version 0.0.4), written by hand: the gateway's counters are plain
/// per-worker integers summed at scrape time, which a registry of counter objects that the hot
/// path would have to increment (swift-prometheus, swift-metrics) does not fit.
public enum GatewayMetrics {
    /// Series summed over workers. Series of one name must be adjacent (one HELP and TYPE each).
    static let series: [MetricSeries] = [
        .gauge("ringgate_connections_open", "", \.core.openNow, "Connections open now."),
        .counter("ringgate_connections_opened_total", "", \.core.accepted, "Connections accepted."),
        .counter("ringgate_connections_closed_total", #"reason="client""#, \.gateway.closedByClient, "Connections closed, by reason."),
        .counter("ringgate_connections_closed_total", #"reason="drain""#, \.gateway.drainCloses, ""),
        .counter("ringgate_connections_closed_total", #"reason="protocol_error""#, \.gateway.protocolErrors, ""),
        .counter("ringgate_connections_closed_total", #"reason="handshake_timeout""#, \.gateway.handshakeTimeouts, ""),
        .counter("ringgate_connections_closed_total", #"reason="pong_timeout""#, \.gateway.pongTimeouts, ""),
        .counter("ringgate_connections_closed_total", #"reason="idle_timeout""#, \.gateway.idleTimeouts, ""),
        .counter("ringgate_connections_closed_total", #"reason="close_timeout""#, \.gateway.closeTimeouts, ""),
        .counter("ringgate_connections_closed_total", #"reason="peer_reset""#, \.core.peerResets, ""),
        .counter("ringgate_sockets_closed_total", "", \.core.closed, "Sockets closed, for any reason."),
        .counter("ringgate_connections_refused_total", #"reason="over_limit""#, \.core.refusedOverLimit, "Connections closed at once because the gateway was full."),
        .counter("ringgate_connections_refused_total", #"reason="table_full""#, \.core.refusedTableFull, ""),
        .counter("ringgate_accept_errors_total", "", \.core.acceptErrors, "Accepts that failed."),
        .counter("ringgate_handshakes_total", #"outcome="accepted""#, \.gateway.handshakesAccepted, "WebSocket upgrades, by outcome."),
        .counter("ringgate_handshakes_total", #"outcome="rejected""#, \.gateway.handshakesRejected, ""),
        .counter("ringgate_handshakes_total", #"outcome="timeout""#, \.gateway.handshakeTimeouts, ""),
        .counter("ringgate_tls_handshakes_total", #"kind="full""#, \.core.tlsHandshakesFull, "Completed TLS handshakes on the wss:// listener, by kind (resumed: by session ticket)."),
        .counter("ringgate_tls_handshakes_total", #"kind="resumed""#, \.core.tlsHandshakesResumed, ""),
        .counter("ringgate_tls_handshake_failures_total", "", \.core.tlsHandshakeFailures, "TLS connections closed before their handshake completed, for any reason."),
        .counter("ringgate_tls_errors_total", "", \.core.tlsErrors, "Fatal TLS errors after the handshake (bad record, bad MAC, ...)."),
        .counter("ringgate_plain_http_requests_total", "", \.gateway.plainRequests, "HTTP requests that were not upgrades (/healthz and others)."),
        .counter("ringgate_messages_total", #"direction="in""#, \.gateway.messagesIn, "WebSocket data messages."),
        .counter("ringgate_messages_total", #"direction="out""#, \.gateway.messagesOut, ""),
        .counter("ringgate_message_bytes_total", #"direction="in""#, \.gateway.bytesIn, "WebSocket message payload bytes."),
        .counter("ringgate_message_bytes_total", #"direction="out""#, \.gateway.bytesOut, ""),
        .counter("ringgate_socket_bytes_total", #"direction="in""#, \.core.recvBytes, "Bytes read from and written to sockets."),
        .counter("ringgate_socket_bytes_total", #"direction="out""#, \.core.sendBytes, ""),
        .counter("ringgate_pings_sent_total", "", \.gateway.pingsSent, "Heartbeat pings sent."),
        .counter("ringgate_pongs_received_total", "", \.gateway.pongsReceived, "Pongs received."),
        .counter("ringgate_timer_expiries_total", #"kind="handshake""#, \.gateway.handshakeTimeouts, "Timers that ended a connection, by kind."),
        .counter("ringgate_timer_expiries_total", #"kind="pong""#, \.gateway.pongTimeouts, ""),
        .counter("ringgate_timer_expiries_total", #"kind="idle""#, \.gateway.idleTimeouts, ""),
        .counter("ringgate_timer_expiries_total", #"kind="close""#, \.gateway.closeTimeouts, ""),
        .counter("ringgate_send_queue_drops_total", "", \.gateway.sendQueueOverflows, "Clients closed because their send queue was full (--slow-client close)."),
        .counter("ringgate_slow_client_dropped_total", #"which="oldest""#, \.gateway.droppedOldest, "Messages a slow client lost under --slow-client drop: queued ones, oldest first, or the new one when no room could be made."),
        .counter("ringgate_slow_client_dropped_total", #"which="newest""#, \.gateway.droppedNewest, ""),
        .counter("ringgate_send_rejected_total", "", \.core.sendRejected, "Sends the core refused (queue limit or pool)."),
        .counter("ringgate_paused_backpressure_total", "", \.gateway.pausedForBackpressure, "Times reading from a slow client was paused."),
        .counter("ringgate_paused_send_pool_total", "", \.gateway.pausedForSendPool, "Times reading from a client was paused because the send pool was down to its reserve."),
        .counter("ringgate_send_pool_waits_total", "", \.gateway.sendPoolWaits, "Messages that found the send pool dry and waited for room."),
        .counter("ringgate_slow_clients_reset_total", "", \.gateway.slowClientsReset, "Clients reset because their queues did not shrink for the close timeout while the send pool was pressed."),
        .gauge("ringgate_send_pool_bytes", #"state="budget""#, \.core.sendPoolBudget, "Send-chunk memory: the budget, in use now, and the most in use at once (each worker's peak, summed)."),
        .gauge("ringgate_send_pool_bytes", #"state="used""#, \.core.sendPoolUsed, ""),
        .gauge("ringgate_send_pool_bytes", #"state="peak""#, \.core.sendPoolPeak, ""),
        .counter("ringgate_parked_total", "", \.gateway.parked, "Times an idle connection was parked."),
        .counter("ringgate_buffer_ring_exhausted_total", "", \.core.recvEnobufs, "Receives that found the provided-buffer ring empty."),
        .counter("ringgate_recv_completions_total", "", \.core.recvCompletions, "Receive completions."),
        .counter("ringgate_send_completions_total", "", \.core.sendCompletions, "Send completions."),
        .counter("ringgate_send_partial_total", "", \.core.sendPartial, "Sends the kernel took only in part."),
        .counter("ringgate_worker_mail_total", "", \.core.mail, "Messages between threads."),
        .counter("ringgate_ticks_total", "", \.core.ticks, "Timer ticks."),
        .counter("ringgate_unexpected_completions_total", "", \.core.unexpected, "Completions with errors that indicate a bug."),
    ]

    /// Series rendered once per worker with `worker="i"`: how load spreads over the rings.
    static let perWorker: [MetricSeries] = [
        .gauge("ringgate_worker_connections_open", "", \.core.openNow, "Connections open now, per worker."),
        .counter("ringgate_worker_connections_opened_total", "", \.core.accepted, "Connections accepted, per worker."),
        .counter("ringgate_worker_messages_total", #"direction="in""#, \.gateway.messagesIn, "WebSocket data messages, per worker."),
        .counter("ringgate_worker_messages_total", #"direction="out""#, \.gateway.messagesOut, ""),
        .counter("ringgate_worker_socket_bytes_total", #"direction="in""#, \.core.recvBytes, "Socket bytes, per worker."),
        .counter("ringgate_worker_socket_bytes_total", #"direction="out""#, \.core.sendBytes, ""),
    ]

    /// The `/metrics` page for `total` and one snapshot per worker, plus the drain state and,
    /// with application workers, the link counters and each open link.
    public static func render(total: MetricsSnapshot, workers: [MetricsSnapshot], draining: Bool,
                              backend: BackendCounters? = nil, links: [BackendLinkState] = []) -> String {
        var out = ""
        out.reserveCapacity(8192)
        write(series, into: &out) { series in
            ["\(series.name)\(braces(series.labels)) \(total[keyPath: series.value])"]
        }
        write(perWorker, into: &out) { series in
            workers.indices.map { index in
                let labels = series.labels.isEmpty ? #"worker="\#(index)""# : #"worker="\#(index)",\#(series.labels)"#
                return "\(series.name){\(labels)} \(workers[index][keyPath: series.value])"
            }
        }
        if let backend { writeBackend(backend, links: links, into: &out) }
        out += "# HELP ringgate_draining 1 while the gateway drains (no longer accepting).\n"
        out += "# TYPE ringgate_draining gauge\nringgate_draining \(draining ? 1 : 0)\n"
        out += "# HELP ringgate_workers Worker rings.\n# TYPE ringgate_workers gauge\nringgate_workers \(workers.count)\n"
        return out
    }

    private static func write(_ list: [MetricSeries], into out: inout String, _ lines: (MetricSeries) -> [String]) {
        var previous = ""
        for series in list {
            if series.name != previous {
                out += "# HELP \(series.name) \(series.help)\n# TYPE \(series.name) \(series.kind.rawValue)\n"
                previous = series.name
            }
            for line in lines(series) { out += line + "\n" }
        }
    }

    private static func braces(_ labels: String) -> String { labels.isEmpty ? "" : "{\(labels)}" }
}
