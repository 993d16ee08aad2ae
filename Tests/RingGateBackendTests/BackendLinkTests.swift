@testable import RingGateBackend
import Testing

/// A real link over a Unix socket against a scripted gateway.
@Suite struct BackendLinkTests {
    static let hello = ProtocolExampleTests.gatewayHello
    static let conn = ProtocolExampleTests.conn

    /// Connects a worker named "echo1" and checks the HELLO it sends.
    func connect(_ gateway: FakeGateway) async throws -> BackendLink {
        async let link = BackendLink.connect(path: gateway.path, name: "echo1")
        let workerHello = await onThread {
            gateway.acceptWorker()
            gateway.write(Self.hello)
            return gateway.readFrame()
        }
        #expect(workerHello?.0 == LinkCommand.hello.rawValue)
        #expect(workerHello?.1 == hex("0100 0500 6563686f31"))
        return try await link
    }

    @Test func exampleExchangeRunsOverTheSocket() async throws {
        let gateway = FakeGateway()
        let link = try await connect(gateway)
        #expect(link.gateway.gatewayID == "gw1")
        // Both events in one write, the second split from the first mid-field.
        let events = ProtocolExampleTests.open + ProtocolExampleTests.message
        await onThread { gateway.write(Array(events[..<20])) }
        await onThread { gateway.write(Array(events[20...])) }
        var iterator = link.events.makeAsyncIterator()
        guard case .open(let request) = await iterator.next() else { Issue.record("no OPEN"); return }
        #expect(request.needsDecision && request.queryValue("room") == "1")
        try await link.accept(request.conn)
        #expect(await iterator.next() == .message(Self.conn, .text("hi")))
        try await link.send(Self.conn, text: "hello")
        try await link.close(Self.conn)
        let commands = await onThread { (0..<3).compactMap { _ in gateway.readFrame() } }
        #expect(commands.map { [$0.0] + $0.1 } == [
            hex("82 2a00000001000000 0000"), hex("84 2a00000001000000 01 68656c6c6f"), hex("85 2a00000001000000 e803"),
        ])
        await onThread { gateway.write(ProtocolExampleTests.closed) }
        #expect(await iterator.next() == .closed(Self.conn, code: 1000, reason: ""))
        await onThread { gateway.closeLink() }
        #expect(await iterator.next() == nil)
        await #expect(throws: BackendLinkError.self) { try await link.send(Self.conn, text: "late") }
    }

    @Test func presenceAnswersFindTheirAskerByRequest() async throws {
        let gateway = FakeGateway()
        let link = try await connect(gateway)
        async let first = link.presence(topic: "a", offset: 1, limit: 2)
        async let second = link.presence(topic: "b")
        let requests = await onThread { [gateway.readFrame(), gateway.readFrame()] }
        #expect(requests.map { $0?.0 } == [LinkCommand.presence.rawValue, LinkCommand.presence.rawValue])
        let ids = requests.map { (Array($0?.1.prefix(4) ?? []), $0?.1.last) }
        let idOfA = ids.first { $0.1 == UInt8(ascii: "a") }!.0
        let idOfB = ids.first { $0.1 == UInt8(ascii: "b") }!.0
        // Answered in the other order; a request nobody asked goes to the events.
        await onThread {
            gateway.write(hex("12000000 07") + idOfB + hex("00000000 00000000 00000000 62"))
            gateway.write(hex("22000000 07") + idOfA + hex("05000000 01000000 02000000 0700000000000000 0800000000000000 61"))
            gateway.write(hex("12000000 07 ffffff7f 00000000 00000000 00000000 63"))
        }
        #expect(try await first == Presence(topic: "a", total: 5, offset: 1, connections: [7, 8].map(ConnectionID.init)))
        #expect(try await second == Presence(topic: "b", total: 0, offset: 0, connections: []))
        var iterator = link.events.makeAsyncIterator()
        #expect(await iterator.next() == .presence(Presence(topic: "c", total: 0, offset: 0, connections: []), request: 0x7fff_ffff))
    }

    @Test func gatewayErrorEndsTheEventsWithFailed() async throws {
        let gateway = FakeGateway()
        let link = try await connect(gateway)
        await onThread { gateway.write(hex("0f000000 08 0500 756e6b6e6f776e20636f6e6e")) }
        var iterator = link.events.makeAsyncIterator()
        #expect(await iterator.next() == .failed(.gateway(code: 5, message: "unknown conn")))
        #expect(await iterator.next() == nil)
        await #expect(throws: BackendLinkError.gateway(code: 5, message: "unknown conn")) {
            try await link.presence(topic: "t")
        }
    }

    @Test func garbageFromTheGatewayEndsTheLink() async throws {
        let gateway = FakeGateway()
        let link = try await connect(gateway)
        await onThread { gateway.write(hex("ffffffff 03")) }
        var iterator = link.events.makeAsyncIterator()
        let event = await iterator.next()
        guard case .failed(.protocolViolation) = event else { Issue.record("got \(String(describing: event))"); return }
        #expect(await onThread { gateway.readFrame() } == nil, "the worker closes its side")
    }

    @Test func disconnectFlushesCommandsThenEndsTheEvents() async throws {
        let gateway = FakeGateway()
        let link = try await connect(gateway)
        for index in 0..<1000 { try await link.publish(topic: "t", text: "message \(index)") }
        link.disconnect()
        let count = await onThread {
            var count = 0
            while gateway.readFrame() != nil { count += 1 }
            gateway.closeLink()
            return count
        }
        #expect(count == 1000)
        for await _ in link.events {}
    }

    @Test func commandsGoOutWhileEventsWaitUnread() async throws {
        let gateway = FakeGateway()
        let link = try await connect(gateway)
        await onThread { gateway.write(ProtocolExampleTests.message + ProtocolExampleTests.message) }
        var iterator = link.events.makeAsyncIterator()
        #expect(await iterator.next() == .message(Self.conn, .text("hi")))
        // One event still waits, so the send is batched; it must leave after the linger anyway.
        try await link.send(Self.conn, text: "hello")
        let sent = await onThread { gateway.readFrame() }
        #expect(sent.map { [$0.0] + $0.1 } == hex("84 2a00000001000000 01 68656c6c6f"))
    }

    @Test func handshakeRefusesAnotherVersion() async throws {
        let gateway = FakeGateway()
        let link = Task { try await BackendLink.connect(path: gateway.path, name: "w") }
        await onThread {
            gateway.acceptWorker()
            gateway.write(hex("12000000 01  0200 0000 40000001 01000000 0300 677731"))
        }
        await #expect(throws: BackendLinkError.self) { _ = try await link.value }
    }

    @Test func connectingWhereNoGatewayListensFails() async {
        await #expect(throws: BackendLinkError.connectFailed(errno: 2)) {
            _ = try await BackendLink.connect(path: "/tmp/ringgate-no-such-socket", name: "w")
        }
    }
}
