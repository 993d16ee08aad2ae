import CRingCore
import Glibc
import RingEngine
import Synchronization
import Testing

@Suite("Core over real sockets")
struct EchoTests {
    @Test("5000 concurrent connections echo through the core")
    func fiveThousandConnections() throws {
        let (engine, counters) = try startEcho()
        defer { engine.stop() }
        var clients: [LoopbackClient] = []
        for _ in 0..<5000 {
            let client = try #require(LoopbackClient(port: engine.port))
            clients.append(client)
        }
        #expect(eventually { counters.opened.load(ordering: .relaxed) == 5000 })
        #expect(engine.stats.openNow == 5000)
        for (i, client) in clients.enumerated() {
            #expect(client.send(Array("hello \(i)".utf8)))
        }
        var mismatches = 0
        for (i, client) in clients.enumerated() {
            let expected = Array("hello \(i)".utf8)
            if client.receive(exactly: expected.count) != expected { mismatches += 1 }
        }
        #expect(mismatches == 0)
        // Both workers took a share of the connections (SO_REUSEPORT spreads them).
        #expect(engine.worker(0).stats.accepted > 0 && engine.worker(1).stats.accepted > 0)
        for client in clients { client.close() }
        #expect(eventually { counters.closed.load(ordering: .relaxed) == 5000 })
        #expect(engine.stats.openNow == 0)
        #expect(engine.stats.unexpected == 0)
    }

    @Test("a slow reader gets every byte in order")
    func slowReader() throws {
        let (engine, _) = try startEcho { $0.sendQueueLimitBytes = 32 << 20; $0.sendPoolBytesPerWorker = 64 << 20 }
        defer { engine.stop() }
        let client = try #require(LoopbackClient(port: engine.port))
        defer { client.close() }
        let payload = (0..<(6 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
        // Write everything before reading anything: the echo backs up into the send queue.
        let writer = Thread { _ = client.send(payload) }
        usleep(300_000)
        let echoed = client.receive(exactly: payload.count)
        writer.join()
        #expect(echoed.count == payload.count)
        #expect(echoed == payload)
        #expect(engine.stats.sendBytes == UInt64(payload.count))
        // The client's full receive buffer made the kernel take sends in part; each continued.
        #expect(engine.stats.sendPartial > 0)
    }

    @Test("a peer reset mid-stream closes only that connection, counted as a reset")
    func peerReset() throws {
        // The queue limit is above what the victim sends, so its unread echo waits in the send
        // queue instead of tripping the queue-limit abort: only the RST can end the connection.
        let (engine, counters) = try startEcho { $0.sendQueueLimitBytes = 32 << 20; $0.sendPoolBytesPerWorker = 64 << 20 }
        defer { engine.stop() }
        let victim = try #require(LoopbackClient(port: engine.port))
        #expect(victim.send([UInt8](repeating: 1, count: 4 << 20)))
        victim.reset()
        #expect(eventually { counters.closed.load(ordering: .relaxed) == 1 })
        #expect(eventually { engine.stats.peerResets >= 1 })
        #expect(counters.closedWithError.load(ordering: .relaxed) == 1)
        let survivor = try #require(LoopbackClient(port: engine.port))
        defer { survivor.close() }
        #expect(survivor.send(Array("still here".utf8)))
        #expect(survivor.receive(exactly: 10) == Array("still here".utf8))
        #expect(engine.stats.unexpected == 0)
    }

    @Test("data followed by the peer's FIN is still answered, then the connection closes")
    func halfClosedPeerGetsItsAnswer() throws {
        let (engine, counters) = try startEcho()
        defer { engine.stop() }
        for round in 0..<50 {
            let client = try #require(LoopbackClient(port: engine.port))
            let message = Array("last words \(round)".utf8)
            #expect(client.send(message))
            shutdown(client.fd, Int32(SHUT_WR))
            #expect(client.receive(exactly: message.count) == message)
            #expect(client.waitForClose())
            client.close()
        }
        #expect(eventually { counters.closed.load(ordering: .relaxed) == 50 })
        #expect(engine.stats.sendRejected == 0)
    }

    @Test("pages given back on quiet ticks never cost data: bursts after pauses stay intact")
    func trimmingBetweenBursts() throws {
        // 1 ms ticks and bursts after pauses of a few ticks: each burst lands in a batch with a
        // tick that follows quiet ones, the moment the worker gives its buffer pages back.
        let (engine, _) = try startEcho { $0.workers = 1; $0.tickMs = 1; $0.receiveBufferCount = 64; $0.receiveBufferBytes = 512 }
        defer { engine.stop() }
        let clients = (0..<32).compactMap { _ in LoopbackClient(port: engine.port) }
        var intact = 0
        for round in 0..<300 {
            usleep(UInt32(700 + (round * 137) % 1800))  // about one to two quiet ticks
            let messages = clients.indices.map { i in (0..<(64 + i)).map { UInt8(truncatingIfNeeded: $0 &+ round &+ i) } }
            for (i, client) in clients.enumerated() { _ = client.send(messages[i]) }
            for (i, client) in clients.enumerated() where client.receive(exactly: messages[i].count) == messages[i] {
                intact += 1
            }
        }
        clients.forEach { $0.close() }
        #expect(intact == 32 * 300)
        #expect(engine.stats.ticks > 100)
    }

    @Test("a two-buffer ring runs dry and still delivers every byte in order", arguments: [true, false])
    func bufferExhaustion(incremental: Bool) throws {
        let (engine, _) = try startEcho {
            $0.receiveBufferCount = 2
            $0.receiveBufferBytes = 64
            $0.incrementalBuffers = incremental
            $0.sendQueueLimitBytes = 8 << 20
        }
        defer { engine.stop() }
        let clients = (0..<50).compactMap { _ in LoopbackClient(port: engine.port) }
        #expect(clients.count == 50)
        let payloads = clients.indices.map { i in (0..<65_536).map { UInt8(truncatingIfNeeded: $0 &+ i &* 31) } }
        let writers = clients.indices.map { i in Thread { _ = clients[i].send(payloads[i]) } }
        var intact = 0
        for (i, client) in clients.enumerated() where client.receive(exactly: payloads[i].count) == payloads[i] {
            intact += 1
        }
        writers.forEach { $0.join() }
        clients.forEach { $0.close() }
        #expect(intact == 50)
        #expect(engine.stats.recvEnobufs > 0)
    }

    @Test("one-byte messages share a buffer with incremental consumption, and take one each without", arguments: [true, false])
    func smallMessagesShareABuffer(incremental: Bool) throws {
        // One worker that sleeps until 100 ms after its first completion, so the 64 one-byte
        // messages are all received in one batch from a ring of 4 buffers of 4 KiB.
        let (engine, _) = try startEcho {
            $0.workers = 1
            $0.receiveBufferCount = 4
            $0.incrementalBuffers = incremental
            $0.batchEvents = 1024
            $0.batchWaitMicroseconds = 100_000
        }
        defer { engine.stop() }
        let clients = (0..<64).compactMap { _ in LoopbackClient(port: engine.port) }
        #expect(clients.count == 64)
        usleep(300_000)  // every accept handled; the worker waits for the next completion
        for (i, client) in clients.enumerated() { #expect(client.send([UInt8(i)])) }
        var intact = 0
        for (i, client) in clients.enumerated() where client.receive(exactly: 1) == [UInt8(i)] { intact += 1 }
        clients.forEach { $0.close() }
        #expect(intact == 64)
        if incremental {
            #expect(engine.stats.recvEnobufs == 0, "64 bytes fit one buffer")
        } else {
            #expect(engine.stats.recvEnobufs > 0, "a whole buffer per byte: 4 buffers for 64 messages")
        }
    }

    @Test("a full table closes new connections cleanly and counts them")
    func tableFull() throws {
        let (engine, counters) = try startEcho { $0.workers = 1; $0.maxConnections = 10 }
        defer { engine.stop() }
        #expect(engine.tableSize >= 10)
        let held = (0..<10).compactMap { _ in LoopbackClient(port: engine.port) }
        #expect(eventually { counters.opened.load(ordering: .relaxed) == 10 })
        let extra = (0..<5).compactMap { _ in LoopbackClient(port: engine.port) }
        for client in extra { #expect(client.waitForClose()) }
        #expect(eventually { engine.stats.refusedTableFull == 5 })
        #expect(held[0].send([42]) && held[0].receive(exactly: 1) == [42])
        held[0].close()
        #expect(eventually { counters.closed.load(ordering: .relaxed) == 1 })
        // A freed slot takes the next connection.
        let late = try #require(LoopbackClient(port: engine.port))
        #expect(late.send([7]) && late.receive(exactly: 1) == [7])
        late.close()
        (held.dropFirst() + extra).forEach { $0.close() }
    }

    @Test("past max-connections over all workers, new connections are closed and counted")
    func engineWideLimit() throws {
        // Each worker's table has room to spare; the engine-wide count is what refuses.
        let (engine, counters) = try startEcho { $0.workers = 2; $0.maxConnections = 10 }
        defer { engine.stop() }
        let held = (0..<10).compactMap { _ in LoopbackClient(port: engine.port) }
        #expect(eventually { counters.opened.load(ordering: .relaxed) == 10 })
        let extra = (0..<5).compactMap { _ in LoopbackClient(port: engine.port) }
        for client in extra { #expect(client.waitForClose()) }
        #expect(eventually { engine.stats.refusedOverLimit + engine.stats.refusedTableFull == 5 })
        #expect(held.allSatisfy { $0.send([9]) && $0.receive(exactly: 1) == [9] })
        (held + extra).forEach { $0.close() }
        #expect(eventually { counters.closed.load(ordering: .relaxed) == 10 })
        let late = try #require(LoopbackClient(port: engine.port))
        #expect(late.send([8]) && late.receive(exactly: 1) == [8])
        late.close()
    }

    @Test("max-connections lowered and raised while running, capped by the tables")
    func maxConnectionsChangesWhileRunning() throws {
        let (engine, counters) = try startEcho { $0.workers = 2; $0.maxConnections = 10 }
        defer { engine.stop() }
        #expect(engine.setMaxConnections(3) == 3)
        let held = (0..<3).compactMap { _ in LoopbackClient(port: engine.port) }
        #expect(eventually { counters.opened.load(ordering: .relaxed) == 3 })
        let extra = try #require(LoopbackClient(port: engine.port))
        #expect(extra.waitForClose())
        #expect(eventually { engine.stats.refusedOverLimit == 1 })
        // Raised past what the tables hold: capped at their total, and the next one is served.
        #expect(engine.setMaxConnections(1_000_000) == UInt32(engine.tableSize * engine.workerCount))
        let late = try #require(LoopbackClient(port: engine.port))
        #expect(late.send([5]) && late.receive(exactly: 1) == [5])
        (held + [extra, late]).forEach { $0.close() }
    }

    @Test("more workers than cores all serve connections")
    func moreWorkersThanCores() throws {
        let workers = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) + 2
        let (engine, _) = try startEcho { $0.workers = UInt32(workers) }
        defer { engine.stop() }
        // 50 per worker: SO_REUSEPORT spreads by hash, and a worker then misses out with
        // probability about e^-50.
        let clients = (0..<(50 * workers)).compactMap { _ in LoopbackClient(port: engine.port) }
        #expect(clients.count == 50 * workers)
        for (i, client) in clients.enumerated() {
            let message = Array("w\(i)".utf8)
            #expect(client.send(message) && client.receive(exactly: message.count) == message)
        }
        let busy = (0..<workers).filter { engine.worker($0).stats.accepted > 0 }.count
        #expect(busy == workers)
        clients.forEach { $0.close() }
    }

    @Test("mail posted from other threads reaches the worker, and ticks arrive")
    func mailAndTicks() throws {
        let (engine, counters) = try startEcho { $0.tickMs = 10 }
        defer { engine.stop() }
        let posters = (0..<4).map { _ in
            Thread { for _ in 0..<1000 { while !engine.worker(1).post(tag: 1, nil) { usleep(100) } } }
        }
        posters.forEach { $0.join() }
        #expect(eventually { counters.mail.load(ordering: .relaxed) == 4000 })
        #expect(eventually { counters.ticks.load(ordering: .relaxed) >= 5 })
    }

    @Test("parked connections wake on data and lose or reorder nothing")
    func parkedConnections() throws {
        let (engine, _) = try startEcho(parksAlways: true) { $0.receiveBufferBytes = 256 }
        defer { engine.stop() }
        let clients = (0..<100).compactMap { _ in LoopbackClient(port: engine.port) }
        var intact = 0
        for round in 0..<20 {
            for (i, client) in clients.enumerated() {
                let message = (0..<(100 + (i * 53 + round * 11) % 2000)).map { UInt8(truncatingIfNeeded: $0 &* 3 &+ i &+ round) }
                if client.send(message) && client.receive(exactly: message.count) == message { intact += 1 }
            }
        }
        #expect(intact == 2000)
        #expect(engine.stats.unexpected == 0)
        // Parked on open, before its first recv completed, and fed only while parked: a connection
        // never had a request to cancel (a cancel walks a kernel hash chain).
        #expect(engine.stats.cancels == 0)
        clients.forEach { $0.close() }
    }

    @Test("wait modes: poll mode echoes like multishot recv")
    func pollMode() throws {
        let (engine, _) = try startEcho { $0.waitMode = .poll; $0.receiveBufferBytes = 256 }
        defer { engine.stop() }
        let clients = (0..<200).compactMap { _ in LoopbackClient(port: engine.port) }
        let payload = (0..<10_000).map { UInt8(truncatingIfNeeded: $0) }
        var intact = 0
        for client in clients where client.send(payload) && client.receive(exactly: payload.count) == payload {
            intact += 1
        }
        #expect(intact == 200)
        clients.forEach { $0.close() }
    }
}
