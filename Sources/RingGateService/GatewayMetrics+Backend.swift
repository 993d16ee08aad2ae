import RingGateway
// The worker link's part of `/metrics`: the link counters summed over the hub and the gateway
// threads, then one series per open link, labelled with its id and the name from its HELLO.

extension GatewayMetrics {
    /// HELP text of each BackendCounters field; a field missing here is rendered without one.
    static let backendHelp: [String: String] = [
        "backend_links_accepted": "Application worker links accepted.",
        "backend_links_open": "Application worker links open now, with or without HELLO.",
        "backend_protocol_errors": "Worker links closed for a protocol error (the worker got ERROR).",
        "backend_timeouts": "Of those, links closed with ERROR 7: no HELLO in time, or a frame begun and not finished in time.",
        "backend_events_lost": "Events queued for a worker whose link failed before they were written.",
        "backend_stale_commands": "Commands for a connection that had closed or belongs to another worker (ignored).",
        "backend_upgrades_refused": "Upgrades answered 503: no worker connected, or none decided in time.",
        "backend_upgrades_rejected": "Upgrades a worker refused with REJECT.",
        "backend_moved": "Connections moved to another worker after their worker's link failed.",
        "backend_closed_on_loss": "Connections closed with 1011 after their worker's link failed.",
        "backend_paused": "Times a client was paused because its worker's queue was full.",
        "publishes": "PUBLISH and BROADCAST commands.",
        "deliveries": "Published messages queued to subscribers.",
        "history_gaps": "SUBSCRIBEs answered GAP: the topic's history no longer held what the client missed.",
        "history_not_kept": "Publishes delivered but not kept in history: their seq was not above the topic's last.",
        "topics_refused": "Topics refused at max-topics.",
        "topics_reclaimed": "Topics removed once nothing kept them (no subscriber, no pending subscribe, no history).",
        "client_subscribes": "Subscriptions clients made themselves (--client-topics).",
        "client_unsubscribes": "Unsubscriptions clients made themselves (--client-topics).",
        "client_topics_refused": "Client topic requests refused: outside the prefixes, past the per-client bound, or malformed.",
        "fanout_waits": "Times a gateway thread left its inbox queued because its fan-out backlog was full.",
        "fanout_backlog_peak": "The most fan-outs one gateway thread had in progress at once.",
    ]

    /// Per-link series: name, type, help, and the value for one link.
    static let linkSeries: [(name: String, kind: MetricSeries.Kind, help: String, value: @Sendable (BackendLinkState) -> UInt64)] = [
        ("ringgate_backend_link_up", .gauge,
         "1 for each open worker link past HELLO; a link's series go away when it closes.", { _ in 1 }),
        ("ringgate_backend_link_connections", .gauge, "Connections routed to the link and open.", { UInt64($0.connections) }),
        ("ringgate_backend_link_queued_bytes", .gauge,
         "Event bytes waiting to be written to the worker; past backend-queue-limit its clients pause.", { UInt64($0.queuedBytes) }),
        ("ringgate_backend_link_congested", .gauge, "1 while the link is over backend-queue-limit.", { $0.congested ? 1 : 0 }),
        ("ringgate_backend_link_events_total", .counter, "Events written to the worker.", { $0.eventsWritten }),
        ("ringgate_backend_link_commands_total", .counter, "Commands read from the worker.", { $0.commandsRead }),
    ]

    static func writeBackend(_ counters: BackendCounters, links: [BackendLinkState], into out: inout String) {
        for (field, value) in counters.fields {
            let gauge = field == "backend_links_open" || field == "fanout_backlog_peak"
            let metric = "ringgate_" + field + (gauge ? "" : "_total")
            if let help = backendHelp[field] { out += "# HELP \(metric) \(help)\n" }
            out += "# TYPE \(metric) \(gauge ? "gauge" : "counter")\n\(metric) \(value)\n"
        }
        for series in linkSeries {
            out += "# HELP \(series.name) \(series.help)\n# TYPE \(series.name) \(series.kind.rawValue)\n"
            for link in links {
                out += "\(series.name){link=\"\(link.id)\",name=\"\(labelValue(link.name))\"} \(series.value(link))\n"
            }
        }
    }

    /// A label value as the text format wants it: backslash, double quote and newline escaped.
    /// The name comes from the worker, so it may hold anything.
    static func labelValue(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }
}
