/// One gateway frame, decoded. Events go to the application; HELLO, ERROR and PRESENCE parts
/// are for the link itself.
enum InboundFrame: Sendable, Equatable {
    case hello(GatewayHello)
    case event(BackendEvent)
    case presence(request: UInt32, part: Presence)
    case error(code: UInt16, message: String)

    /// Decodes the body of a frame of `type`. A short body, a bad kind or an unknown type is a
    /// protocol violation: the gateway and this SDK no longer agree on the stream.
    static func decode(type: UInt8, body: UnsafeRawBufferPointer) throws(BackendLinkError) -> InboundFrame {
        guard let event = LinkEvent(rawValue: type) else {
            throw .protocolViolation("unknown event type 0x" + String(type, radix: 16))
        }
        var reader = LinkReader(body)
        do {
            return try decode(event, &reader)
        } catch {
            throw .protocolViolation("malformed \(event) frame")
        }
    }

    private static func decode(_ event: LinkEvent, _ reader: inout LinkReader) throws(LinkMalformed) -> InboundFrame {
        switch event {
        case .hello:
            let version = try reader.u16()
            _ = try reader.u16()  // flags, 0 in version 1
            return .hello(GatewayHello(
                version: version, maxFrame: try reader.u32(), linkID: try reader.u32(), gatewayID: try reader.string16()))
        case .open:
            return .event(.open(try openRequest(&reader)))
        case .message:
            let conn = ConnectionID(try reader.u64())
            return .event(.message(conn, try message(kind: try reader.u8(), payload: reader.rest())))
        case .closed:
            let conn = ConnectionID(try reader.u64())
            let code = try reader.u16()
            return .event(.closed(conn, code: code, reason: String(decoding: reader.rest(), as: UTF8.self)))
        case .flow:
            let conn = ConnectionID(try reader.u64())
            return .event(.flow(conn, slow: try reader.u8() != 0))
        case .gap:
            let conn = ConnectionID(try reader.u64())
            let since = try reader.u64()
            let evicted = try reader.u64()
            return .event(.gap(conn, topic: try reader.string16(), since: since, evicted: evicted))
        case .presence:
            let request = try reader.u32()
            let total = Int(try reader.u32())
            let offset = Int(try reader.u32())
            let count = Int(try reader.u32())
            guard reader.remaining >= count * 8 else { throw LinkMalformed() }
            var ids: [ConnectionID] = []
            ids.reserveCapacity(count)
            for _ in 0..<count { ids.append(ConnectionID(try reader.u64())) }
            let topic = String(decoding: reader.rest(), as: UTF8.self)
            return .presence(request: request, part: Presence(topic: topic, total: total, offset: offset, connections: ids))
        case .error:
            let code = try reader.u16()
            return .error(code: code, message: String(decoding: reader.rest(), as: UTF8.self))
        case .draining:
            return .event(.draining(deadlineMs: try reader.u32()))
        case .subscribed:
            let conn = ConnectionID(try reader.u64())
            return .event(.subscribed(conn, topic: String(decoding: reader.rest(), as: UTF8.self)))
        case .unsubscribed:
            let conn = ConnectionID(try reader.u64())
            return .event(.unsubscribed(conn, topic: String(decoding: reader.rest(), as: UTF8.self)))
        }
    }

    private static func openRequest(_ reader: inout LinkReader) throws(LinkMalformed) -> OpenRequest {
        let conn = ConnectionID(try reader.u64())
        let flags = try reader.u8()
        let remote = try reader.string16()
        let path = try reader.string16()
        let query = try reader.string16()
        let protocols = try reader.string16()
        let count = Int(try reader.u16())
        var headers: [Header] = []
        headers.reserveCapacity(count)
        for _ in 0..<count {
            let name = try reader.string16()
            headers.append(Header(name: name, value: try reader.string16()))
        }
        return OpenRequest(
            conn: conn, remote: remote, path: path, query: query,
            protocols: protocols.split(separator: ",").map { $0.trimmingSpaces() },
            headers: headers,
            needsDecision: flags & LinkOpenFlags.decide != 0, moved: flags & LinkOpenFlags.moved != 0)
    }

    private static func message(kind: UInt8, payload: UnsafeRawBufferPointer) throws(LinkMalformed) -> Message {
        switch LinkPayloadKind(rawValue: kind) {
        case .text: return .text(String(decoding: payload, as: UTF8.self))
        case .binary: return .binary(Array(payload))
        case nil: throw LinkMalformed()
        }
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
