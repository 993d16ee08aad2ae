import RingTopics
import Logging
import RingGateProtocol
import Synchronization
import RingWebSocket
#if canImport(Glibc)
import Glibc
#endif

/// A command the hub refuses: the link gets ERROR with this code and closes.
typealias LinkFault = (code: LinkErrorCode, detail: String)

extension BackendHub {
    /// Validates one command and queues it for the gateway thread(s) it concerns.
    func dispatch(_ hub: HubLink, type: UInt8, body: UnsafeRawBufferPointer) -> LinkFault? {
        guard let command = LinkCommand(rawValue: type) else {
            return (.unknownType, "unknown command type 0x\(String(type, radix: 16))")
        }
        var reader = LinkReader(body)
        do {
            guard hub.helloSeen || command == .hello else { return (.helloExpected, "HELLO must come first") }
            switch command {
            case .hello: return try hello(hub, &reader)
            case .accept, .reject, .send, .close, .unsubscribe, .subscribe:
                return try connectionCommand(hub, command, &reader)
            case .publish: return try publish(&reader)
            case .broadcast: return try broadcast(&reader)
            case .sendMany: return try sendMany(hub, &reader)
            case .subscribeMany: return try subscribeMany(hub, &reader)
            case .presence: return try presence(hub, &reader)
            case .topic: return try configureTopic(&reader)
            }
        } catch {
            return (.malformedBody, "\(command) body is too short for its fields")
        }
    }

    private func hello(_ hub: HubLink, _ reader: inout LinkReader) throws(LinkMalformed) -> LinkFault? {
        guard !hub.helloSeen else { return (.malformedBody, "a second HELLO") }
        let version = try reader.u16()
        guard version == LinkProtocol.version else {
            return (.unsupportedVersion, "protocol version \(version) is not supported (this gateway speaks \(LinkProtocol.version))")
        }
        let name = try reader.string16()
        hub.link.name.withLock { $0 = name }
        hub.helloSeen = true
        directory.add(hub.link)
        GatewayLog.logger.info("backend: worker \"\(name)\" joined as link \(hub.link.id)")
        return nil
    }

    /// The connection a command names, checked to be one this gateway could have issued.
    private func connection(_ raw: UInt64) -> LinkConnectionID? {
        let id = LinkConnectionID(raw)
        guard id.worker < inboxes.count, Int(id.slot) < tableSize else { return nil }
        return id
    }

    private func connectionCommand(_ hub: HubLink, _ command: LinkCommand, _ reader: inout LinkReader) throws(LinkMalformed) -> LinkFault? {
        let raw = try reader.u64()
        guard let target = connection(raw) else { return (.unknownConnection, "connection \(raw) was never issued") }
        var record = LinkWriter()
        swap(&record, &batches[target.worker])
        defer { swap(&record, &batches[target.worker]) }
        switch command {
        case .accept:
            let subprotocol = try reader.str16()
            record.begin(InboxRecord.accept.rawValue)
            record.u16(hub.link.id)
            record.u64(raw)
            record.str16(subprotocol)
        case .reject:
            let status = try reader.u16()
            guard (400...599).contains(status) else { return (.malformedBody, "REJECT status \(status) is not 400...599") }
            let body = reader.rest()
            record.begin(InboxRecord.reject.rawValue)
            record.u16(hub.link.id)
            record.u64(raw)
            record.u16(status)
            record.raw(body)
        case .send:
            let kind = try reader.u8()
            let payload = reader.rest()
            if let fault = checkPayload(kind: kind, payload) { return fault }
            record.begin(InboxRecord.send.rawValue)
            record.u16(hub.link.id)
            record.u64(raw)
            record.u8(kind)
            record.raw(payload)
        case .close:
            let code = try reader.u16()
            let reason = reader.rest()
            guard CloseCode.isValidOnWire(code) else { return (.malformedBody, "CLOSE code \(code) may not be sent") }
            guard reason.count <= 123, UTF8Check.isValid(reason) else {
                return (.malformedBody, "CLOSE reason must be UTF-8 of at most 123 bytes")
            }
            record.begin(InboxRecord.close.rawValue)
            record.u16(hub.link.id)
            record.u64(raw)
            record.u16(code)
            record.raw(reason)
        case .subscribe:
            let flags = try reader.u8()
            let since = try reader.u64()
            // Reserved: the topic outlives the record until its thread applies it.
            guard let topic = try topicFor(reader.rest(), reserve: true) else { return nil }
            let upTo = topic.history.withLock { $0.lastSeq }
            record.begin(InboxRecord.subscribe.rawValue)
            record.u16(hub.link.id)
            record.u64(raw)
            record.u32(topic.id)
            record.u8(flags & 1)
            record.u64(since)
            record.u64(upTo)
        case .unsubscribe:
            let name = reader.rest()
            guard let topic = topics.existing(named: String(decoding: name, as: UTF8.self)) else {
                if name.isEmpty || name.count > LinkProtocol.maxTopicBytes { return (.malformedBody, "topic must be 1...255 bytes") }
                return nil  // never subscribed to: nothing to do
            }
            record.begin(InboxRecord.unsubscribe.rawValue)
            record.u16(hub.link.id)
            record.u64(raw)
            record.u32(topic.id)
        default:
            return nil
        }
        record.end()
        return nil
    }

    /// The topic `name` names, created if new; nil (counted and logged) past the topic limit.
    private func topicFor(_ name: UnsafeRawBufferPointer, reserve: Bool = false) throws(LinkMalformed) -> Topic? {
        guard !name.isEmpty, name.count <= LinkProtocol.maxTopicBytes else { throw LinkMalformed() }
        let text = String(decoding: name, as: UTF8.self)
        guard let topic = topics.topic(named: text, reserve: reserve) else {
            if counters.topicsRefused == 0 {
                GatewayLog.logger.warning("backend: topic limit \(topics.limit) reached; new topics are refused")
            }
            counters.topicsRefused += 1
            return nil
        }
        return topic
    }

    private func checkPayload(kind: UInt8, _ payload: UnsafeRawBufferPointer) -> LinkFault? {
        switch LinkPayloadKind(rawValue: kind) {
        case .text:
            // Clients fail a connection on invalid UTF-8 in a text frame (RFC 6455 section 8.1).
            return UTF8Check.isValid(payload) ? nil : (.malformedBody, "text payload is not valid UTF-8")
        case .binary:
            return nil
        case nil:
            return (.malformedBody, "payload kind \(kind) is neither 1 (text) nor 2 (binary)")
        }
    }

    private func publish(_ reader: inout LinkReader) throws(LinkMalformed) -> LinkFault? {
        let kind = try reader.u8()
        let requestedSeq = try reader.u64()
        let name = try reader.str16()
        let payload = reader.rest()
        if let fault = checkPayload(kind: kind, payload) { return fault }
        guard let topic = try topicFor(name) else { return nil }
        let frame = SharedFrame(opcode: kind == 1 ? .text : .binary, payload: payload)
        let nowMs = Self.monotonicMs()
        let refusedBelow: UInt64? = topic.history.withLock { history in
            guard let seq = history.number(requestedSeq) else { return history.lastSeq }
            history.append(seq: seq, frame: frame, nowMs: nowMs)
            return nil
        }
        if let lastSeq = refusedBelow {
            counters.historyNotKept += 1
            if GatewayLog.isDue(counters.historyNotKept) {
                GatewayLog.logger.warning("""
                    backend: publish to \(topic.name) with seq \(requestedSeq) not above \(lastSeq): delivered, not kept \
                    (\(counters.historyNotKept) so far)
                    """)
            }
        }
        counters.publishes += 1
        fanOut(topic: topic.id, frame)
        // Published to nobody and kept nowhere: the name need not hold a topic.
        if topics.removeIfUnused(topic) { counters.topicsReclaimed += 1 }
        return nil
    }

    private func broadcast(_ reader: inout LinkReader) throws(LinkMalformed) -> LinkFault? {
        let kind = try reader.u8()
        let payload = reader.rest()
        if let fault = checkPayload(kind: kind, payload) { return fault }
        counters.publishes += 1
        fanOut(topic: 0, SharedFrame(opcode: kind == 1 ? .text : .binary, payload: payload))
        return nil
    }

    private func fanOut(topic: UInt32, _ frame: SharedFrame) {
        for index in batches.indices {
            batches[index].begin(InboxRecord.fanout.rawValue)
            batches[index].u32(topic)
            batches[index].u64(frame.passRetained())
            batches[index].end()
        }
    }

    /// Reads `n` connection ids and groups them by gateway thread.
    private func groupedConnections(_ reader: inout LinkReader) throws(LinkMalformed) -> (ids: [[UInt64]], fault: LinkFault?) {
        let count = Int(try reader.u32())
        guard count <= reader.remaining / 8 else { throw LinkMalformed() }
        var grouped = [[UInt64]](repeating: [], count: inboxes.count)
        for _ in 0..<count {
            let raw = try reader.u64()
            guard let target = connection(raw) else { return ([], (.unknownConnection, "connection \(raw) was never issued")) }
            grouped[target.worker].append(raw)
        }
        return (grouped, nil)
    }

    private func sendMany(_ hub: HubLink, _ reader: inout LinkReader) throws(LinkMalformed) -> LinkFault? {
        let kind = try reader.u8()
        let (grouped, fault) = try groupedConnections(&reader)
        if let fault { return fault }
        let payload = reader.rest()
        if let fault = checkPayload(kind: kind, payload) { return fault }
        for (worker, ids) in grouped.enumerated() where !ids.isEmpty {
            batches[worker].begin(InboxRecord.sendMany.rawValue)
            batches[worker].u16(hub.link.id)
            batches[worker].u8(kind)
            batches[worker].u32(UInt32(ids.count))
            for id in ids { batches[worker].u64(id) }
            batches[worker].raw(payload)
            batches[worker].end()
        }
        return nil
    }

    private func subscribeMany(_ hub: HubLink, _ reader: inout LinkReader) throws(LinkMalformed) -> LinkFault? {
        let (grouped, fault) = try groupedConnections(&reader)
        if let fault { return fault }
        guard let topic = try topicFor(reader.rest(), reserve: true) else { return nil }
        // One reservation per record: each thread that gets one releases one.
        let records = grouped.filter { !$0.isEmpty }.count
        if records == 0 {
            if topics.release(pendingOf: topic) { counters.topicsReclaimed += 1 }
            return nil
        }
        if records > 1 { topic.pending.add(records - 1, ordering: .relaxed) }
        let upTo = topic.history.withLock { $0.lastSeq }
        for (worker, ids) in grouped.enumerated() where !ids.isEmpty {
            batches[worker].begin(InboxRecord.subscribeMany.rawValue)
            batches[worker].u16(hub.link.id)
            batches[worker].u32(topic.id)
            batches[worker].u64(upTo)
            batches[worker].u32(UInt32(ids.count))
            for id in ids { batches[worker].u64(id) }
            batches[worker].end()
        }
        return nil
    }

    private func presence(_ hub: HubLink, _ reader: inout LinkReader) throws(LinkMalformed) -> LinkFault? {
        let request = try reader.u32()
        let offset = try reader.u32()
        let limit = try reader.u32()
        let name = reader.rest()
        guard !name.isEmpty, name.count <= LinkProtocol.maxTopicBytes else { throw LinkMalformed() }
        let text = String(decoding: name, as: UTF8.self)
        let collector = PresenceCollector(request: request, offset: offset, limit: limit, topic: text, link: hub.link, workers: inboxes.count)
        guard let topic = topics.existing(named: text) else {
            for worker in inboxes.indices { _ = collector.add(worker: worker, ids: [], count: 0) }
            return nil
        }
        // Each thread answers with the first offset + limit ids of its own list, read when it
        // runs the request, so subscribes this link sent before are counted; the collector
        // joins the parts in thread order and keeps [offset, offset + limit).
        let take = UInt32(clamping: Int(offset) + Int(limit))
        for worker in inboxes.indices {
            batches[worker].begin(InboxRecord.presence.rawValue)
            batches[worker].u64(collector.passRetained())
            batches[worker].u32(topic.id)
            batches[worker].u32(0)
            batches[worker].u32(take)
            batches[worker].end()
        }
        return nil
    }

    private func configureTopic(_ reader: inout LinkReader) throws(LinkMalformed) -> LinkFault? {
        let count = try reader.u32()
        let ageMs = try reader.u32()
        guard let topic = try topicFor(reader.rest()) else { return nil }
        let nowMs = Self.monotonicMs()
        topic.history.withLock { $0.configure(count: Int(min(count, 1_000_000)), ageMs: UInt64(ageMs), nowMs: nowMs) }
        if topics.removeIfUnused(topic) { counters.topicsReclaimed += 1 }  // history turned off, nobody subscribed
        return nil
    }

    static func monotonicMs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }
}
