@testable import RingGateBackend
import RingGateProtocol
import Testing

/// Every event the gateway writes (RingGateProtocol's encoders, the ones the gateway itself
/// uses) decodes in the SDK to what was meant: the two sides share one encoder per record.
@Suite("Link events: gateway encoders, SDK decoder")
struct LinkEventRoundTripTests {
    private func decode(_ write: (inout LinkWriter) -> Void) throws -> InboundFrame {
        var writer = LinkWriter()
        write(&writer)
        #expect(writer.frames == 1)
        let bytes = writer.take()
        return try bytes.withUnsafeBytes { raw in
            guard case .frame(let type, let body, let size) = LinkFrameScan.next(in: raw, maxFrame: 1 << 24) else {
                throw BackendLinkError.protocolViolation("not one whole frame")
            }
            #expect(size == raw.count)
            return try InboundFrame.decode(type: type, body: body)
        }
    }

    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("HELLO, ERROR and DRAINING")
    func linkEvents() throws {
        #expect(try decode { $0.hello(version: 1, maxFrame: 4096, linkID: 7, gatewayID: "gw-1") }
                == .hello(GatewayHello(version: 1, maxFrame: 4096, linkID: 7, gatewayID: "gw-1")))
        #expect(try decode { $0.error(code: .frameTooLarge, detail: "too big") }
                == .error(code: LinkErrorCode.frameTooLarge.rawValue, message: "too big"))
        #expect(try decode { $0.draining(deadlineMs: 30_000) } == .event(.draining(deadlineMs: 30_000)))
    }

    @Test("OPEN with its fields, flags and headers")
    func open() throws {
        let headers = [(name: "cookie", value: "a=1"), (name: "origin", value: "https://example.com")]
        let frame = try decode {
            $0.open(conn: 42, flags: LinkOpenFlags.decide) { fields in
                fields.openFields(remote: "127.0.0.1:5000", path: "/chat", query: "room=1", protocols: "a, b", headers: headers)
            }
        }
        #expect(frame == .event(.open(OpenRequest(
            conn: ConnectionID(42), remote: "127.0.0.1:5000", path: "/chat", query: "room=1", protocols: ["a", "b"],
            headers: headers.map { Header(name: $0.name, value: $0.value) }, needsDecision: true, moved: false))))
    }

    @Test("OPEN counts at most 65,535 headers and stays decodable past that")
    func openCapsHeaders() throws {
        let many = Array(repeating: (name: "cookie", value: "x"), count: 70_000)
        let frame = try decode {
            $0.open(conn: 1, flags: LinkOpenFlags.moved) { fields in
                fields.openFields(remote: "", path: "/", query: "", protocols: "", headers: many)
            }
        }
        guard case .event(.open(let request)) = frame else { Issue.record("not an OPEN: \(frame)"); return }
        #expect(request.headers.count == 65_535 && request.moved && !request.needsDecision)
    }

    @Test("MESSAGE, CLOSED, FLOW, GAP, SUBSCRIBED, UNSUBSCRIBED")
    func connectionEvents() throws {
        let conn = ConnectionID(0x0102_0304_0506_0708)
        let text = bytes("hé")
        #expect(try text.withUnsafeBytes { payload in try decode { $0.message(conn: conn.rawValue, kind: .text, payload: payload) } }
                == .event(.message(conn, .text("hé"))))
        #expect(try [UInt8]([0, 255]).withUnsafeBytes { payload in try decode { $0.message(conn: conn.rawValue, kind: .binary, payload: payload) } }
                == .event(.message(conn, .binary([0, 255]))))
        let longReason = bytes(String(repeating: "r", count: 200))
        #expect(try longReason.withUnsafeBytes { reason in try decode { $0.closed(conn: conn.rawValue, code: 1001, reason: reason) } }
                == .event(.closed(conn, code: 1001, reason: String(repeating: "r", count: 123))))
        #expect(try decode { $0.flow(conn: conn.rawValue, slow: true) } == .event(.flow(conn, slow: true)))
        #expect(try decode { $0.gap(conn: conn.rawValue, since: 5, evictedUpTo: 9, topic: "news") }
                == .event(.gap(conn, topic: "news", since: 5, evicted: 9)))
        for subscribed in [true, false] {
            let event = try bytes("room.1").withUnsafeBytes { topic in
                try decode { $0.topicChange(conn: conn.rawValue, subscribed: subscribed, topic: topic) }
            }
            #expect(event == .event(subscribed ? .subscribed(conn, topic: "room.1") : .unsubscribed(conn, topic: "room.1")))
        }
    }

    @Test("PRESENCE with its slice of ids")
    func presence() throws {
        let frame = try decode { $0.presence(request: 3, total: 10, offset: 4, ids: [UInt64(11), 12], topic: "lobby") }
        #expect(frame == .presence(request: 3, part: Presence(topic: "lobby", total: 10, offset: 4,
                                                              connections: [ConnectionID(11), ConnectionID(12)])))
    }
}
