import CRingCore
import Glibc
@testable import RingEngine
import Synchronization
import Testing

/// On each byte received, queues plain "<", the shared frame, plain ">": order must hold, and
/// the frame must be referenced, not copied, and freed once every queue has sent it.
final class SharedSendHandler: WorkerHandler {
    let frame: OpaquePointer
    let refused = Atomic<Int>(0)

    init(frame: OpaquePointer) { self.frame = frame }

    func handle(_ events: UnsafeMutableBufferPointer<EngineEvent>, on worker: Worker) {
        for event in events where event.kind == .data {
            for _ in 0..<Int(event.result) {
                let open: [UInt8] = [UInt8(ascii: "<")], close: [UInt8] = [UInt8(ascii: ">")]
                _ = open.withUnsafeBytes { worker.send(event.connection, $0) }
                if worker.sendShared(event.connection, SharedBytes(raw: frame)) != nil { refused.add(1, ordering: .relaxed) }
                _ = close.withUnsafeBytes { worker.send(event.connection, $0) }
            }
        }
    }
}

/// A shared frame holding `payload`; the caller releases it.
private func sharedFrame(_ payload: [UInt8]) -> OpaquePointer? {
    guard let frame = rg_shared_create(UInt32(payload.count)) else { return nil }
    payload.withUnsafeBytes { rg_shared_bytes(frame).update(from: $0.bindMemory(to: UInt8.self).baseAddress!, count: payload.count) }
    return frame
}

/// An engine on a free port with `workers` rings, each serving a SharedSendHandler for `frame`.
private func startEngine(workers: UInt32, frame: OpaquePointer, sendQueueLimit: UInt32? = nil,
                         handlers: ((SharedSendHandler) -> Void)? = nil) throws -> Engine {
    var config = EngineConfiguration()
    config.port = 0
    config.workers = workers
    if let sendQueueLimit { config.sendQueueLimitBytes = sendQueueLimit }
    let engine = try Engine(config)
    try engine.start { _ in
        let handler = SharedSendHandler(frame: frame)
        handlers?(handler)
        return handler
    }
    return engine
}

@Suite("Shared frames")
struct SharedSendTests {
    @Test("one frame queued by reference on 200 connections over two workers arrives intact, then is freed")
    func fanOutByReference() throws {
        let payload = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let frame = try #require(sharedFrame(payload))
        defer { rg_shared_release(frame) }
        var handlers: [SharedSendHandler] = []
        let engine = try startEngine(workers: 2, frame: frame) { handlers.append($0) }
        defer { engine.stop() }
        var clients: [LoopbackClient] = []
        for _ in 0..<200 { clients.append(try #require(LoopbackClient(port: engine.port))) }
        for client in clients { #expect(client.send([1, 2])) }  // two rounds each
        let expected = ([UInt8(ascii: "<")] + payload + [UInt8(ascii: ">")]) + ([UInt8(ascii: "<")] + payload + [UInt8(ascii: ">")])
        var intact = 0
        for client in clients where client.receive(exactly: expected.count) == expected { intact += 1 }
        #expect(intact == 200)
        #expect(handlers.allSatisfy { $0.refused.load(ordering: .relaxed) == 0 })
        // Every queue has sent it: only the test's own reference is left.
        #expect(eventually { rg_shared_refs(frame) == 1 })
        for client in clients { client.close() }
        #expect(engine.stats.unexpected == 0)
    }

    @Test("a queue of many chunks leaves in one system call per maxChunksPerSend chunks, in order")
    func queueLeavesTogether() throws {
        let payload = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
        let frame = try #require(sharedFrame(payload))
        defer { rg_shared_release(frame) }
        let engine = try startEngine(workers: 1, frame: frame)
        defer { engine.stop() }
        let client = try #require(LoopbackClient(port: engine.port))
        // Ten bytes in one write: "<", the frame by reference, ">" for each, 30 chunks in one batch.
        #expect(client.send([UInt8](repeating: 1, count: 10)))
        let one = [UInt8(ascii: "<")] + payload + [UInt8(ascii: ">")]
        let expected = Array((0..<10).map { _ in one }.joined())
        #expect(client.receive(exactly: expected.count) == expected)
        let chunks = 30
        let sends = (chunks + Worker.maxChunksPerSend - 1) / Worker.maxChunksPerSend
        #expect(eventually { engine.stats.sendCompletions == UInt64(sends) })
        client.close()
    }

    @Test("a connection that goes away with the frame still queued lets go of its reference")
    func droppedQueueReleases() throws {
        let frame = try #require(sharedFrame([UInt8](repeating: 0x5A, count: 60_000)))
        defer { rg_shared_release(frame) }
        let engine = try startEngine(workers: 1, frame: frame, sendQueueLimit: 64 << 20)
        defer { engine.stop() }
        let client = try #require(LoopbackClient(port: engine.port))
        var small: Int32 = 4096
        setsockopt(client.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        // 200 frames of 60 KB queued behind a reader that never reads: most stay queued.
        #expect(client.send([UInt8](repeating: 0, count: 200)))
        #expect(eventually { rg_shared_refs(frame) > 100 })
        client.reset()
        #expect(eventually { rg_shared_refs(frame) == 1 })
        #expect(engine.stats.unexpected == 0)
    }
}
