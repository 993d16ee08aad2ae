@testable import RingGateBackend
import Testing

/// The example exchange at the end of docs/PROTOCOL.md, byte for byte. The doc elides the
/// OPEN frame's length ("..."); it is 0x3d (61): type, conn, flags, four str16 and one header.
@Suite struct ProtocolExampleTests {
    static let conn = ConnectionID(0x1_0000_002a)

    static let gatewayHello = hex("12000000 01  0100 0000 40000001 01000000 0300 677731")
    static let open = hex("""
        3d000000 02  2a00000001000000 01 0f00 3132372e302e302e313a3530303132 0500 2f63686174
        0600 726f6f6d3d31 0000 0100 0600 636f6f6b6965 0500 733d616263
        """)
    static let message = hex("0c000000 03  2a00000001000000 01 6869")
    static let closed = hex("0b000000 04  2a00000001000000 e803")

    @Test func workerCommandsMatchTheDocument() {
        var w = LinkWriter()
        WorkerCommands.hello(&w, name: "echo1")
        #expect(w.take() == hex("0a000000 81  0100 0500 6563686f31"))
        WorkerCommands.accept(&w, Self.conn, subprotocol: "")
        #expect(w.take() == hex("0b000000 82  2a00000001000000 0000"))
        WorkerCommands.send(&w, Self.conn, .text("hello"))
        #expect(w.take() == hex("0f000000 84  2a00000001000000 01 68656c6c6f"))
        WorkerCommands.close(&w, Self.conn, code: 1000, reason: [])
        #expect(w.take() == hex("0b000000 85  2a00000001000000 e803"))
    }

    @Test func gatewayEventsDecodeAsTheDocumentSays() throws {
        let frames = try decodeAll(Self.gatewayHello + Self.open + Self.message + Self.closed)
        #expect(frames == [
            .hello(GatewayHello(version: 1, maxFrame: (16 << 20) + 64, linkID: 1, gatewayID: "gw1")),
            .event(.open(OpenRequest(
                conn: Self.conn, remote: "127.0.0.1:50012", path: "/chat", query: "room=1", protocols: [],
                headers: [Header(name: "cookie", value: "s=abc")], needsDecision: true, moved: false))),
            .event(.message(Self.conn, .text("hi"))),
            .event(.closed(Self.conn, code: 1000, reason: "")),
        ])
    }

    @Test func everySplitPointYieldsTheSameFrames() throws {
        let stream = Self.gatewayHello + Self.open + Self.message + Self.closed
        let whole = try decodeAll(stream)
        for cut in 0...stream.count {
            for secondCut in stride(from: cut, through: stream.count, by: 7) {
                let pieces = [Array(stream[..<cut]), Array(stream[cut..<secondCut]), Array(stream[secondCut...])]
                #expect(try decodeAll(pieces: pieces) == whole, "cuts at \(cut), \(secondCut)")
            }
        }
    }

    @Test func otherCommandsHaveTheirTableLayout() {
        var w = LinkWriter()
        WorkerCommands.reject(&w, Self.conn, status: 401, body: "no")
        #expect(w.take() == hex("0d000000 83 2a00000001000000 9101 6e6f"))
        WorkerCommands.subscribe(&w, Self.conn, topic: "t", since: 5)
        #expect(w.take() == hex("13000000 86 2a00000001000000 01 0500000000000000 74"))
        WorkerCommands.unsubscribe(&w, Self.conn, topic: "t")
        #expect(w.take() == hex("0a000000 87 2a00000001000000 74"))
        WorkerCommands.publish(&w, topic: "t", .binary([9]), seq: 7)
        #expect(w.take() == hex("0e000000 88 02 0700000000000000 0100 74 09"))
        WorkerCommands.broadcast(&w, .text("b"))
        #expect(w.take() == hex("03000000 89 01 62"))
        WorkerCommands.sendMany(&w, [ConnectionID(1), ConnectionID(2)], .text("m"))
        #expect(w.take() == hex("17000000 8a 01 02000000 0100000000000000 0200000000000000 6d"))
        WorkerCommands.subscribeMany(&w, [ConnectionID(3)], topic: "t")
        #expect(w.take() == hex("0e000000 8b 01000000 0300000000000000 74"))
        WorkerCommands.presence(&w, request: 9, topic: "t", offset: 2, limit: 10)
        #expect(w.take() == hex("0e000000 8c 09000000 02000000 0a000000 74"))
        WorkerCommands.topic(&w, "t", historyCount: 100, historyAgeMs: 60000)
        #expect(w.take() == hex("0a000000 8d 64000000 60ea0000 74"))
    }

    @Test func otherEventsDecode() throws {
        let frames = try decodeAll(
            hex("0a000000 05 2a00000001000000 01")
            + hex("1c000000 06 2a00000001000000 0300000000000000 0900000000000000 0100 74")
            + hex("1a000000 07 04000000 05000000 01000000 01000000 0700000000000000 74")
            + hex("06000000 08 0500 626164")
            + hex("05000000 09 88130000")
            + hex("0a000000 0a 2a00000001000000 74")
            + hex("0a000000 0b 2a00000001000000 74"))
        #expect(frames == [
            .event(.flow(Self.conn, slow: true)),
            .event(.gap(Self.conn, topic: "t", since: 3, evicted: 9)),
            .presence(request: 4, part: Presence(topic: "t", total: 5, offset: 1, connections: [ConnectionID(7)])),
            .error(code: 5, message: "bad"),
            .event(.draining(deadlineMs: 5000)),
            .event(.subscribed(Self.conn, topic: "t")),
            .event(.unsubscribed(Self.conn, topic: "t")),
        ])
    }

    @Test func brokenFramesAreProtocolViolations() {
        for bytes in [hex("01000000 7f"), hex("02000000 03 00"), hex("0b000000 03 2a00000001000000 03 68"), hex("00000000")] {
            #expect(throws: BackendLinkError.self) { try decodeAll(bytes) }
        }
    }
}

func decodeAll(_ bytes: [UInt8]) throws -> [InboundFrame] { try decodeAll(pieces: [bytes]) }

/// Feeds `pieces` one after another, as separate reads would, and decodes every whole frame.
func decodeAll(pieces: [[UInt8]]) throws -> [InboundFrame] {
    var buffer = FrameBuffer()
    var frames: [InboundFrame] = []
    for piece in pieces {
        piece.withUnsafeBytes { buffer.append($0) }
        try buffer.takeFrames(maxFrame: LinkProtocol.defaultMaxFrame) { type, body throws(BackendLinkError) in
            frames.append(try InboundFrame.decode(type: type, body: body))
            return true
        }
    }
    #expect(buffer.buffered == 0, "bytes left over")
    return frames
}
