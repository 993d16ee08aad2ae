import CRingCore
import Glibc
@testable import RingEngine
import Synchronization
import Testing

/// Test records: u16 total length (big-endian), a kind byte, u32 sequence number, then that
/// many bytes in all, filled with the sequence number's low byte. Kind K must stay; D and S
/// (a shared frame, sequence 0) may be dropped.
private enum TestRecord {
    static let keep = UInt8(ascii: "K"), drop = UInt8(ascii: "D"), shared = UInt8(ascii: "S")

    static func make(_ seq: UInt32, kind: UInt8, size: Int) -> [UInt8] {
        var bytes = [UInt8(size >> 8), UInt8(size & 0xFF), kind]
        withUnsafeBytes(of: seq.bigEndian) { bytes.append(contentsOf: $0) }
        bytes += [UInt8](repeating: UInt8(truncatingIfNeeded: seq), count: size - bytes.count)
        return bytes
    }

    static let measure: rg_record_measure = { head, available in
        guard let head, available >= 3 else { return 0 }
        let length = Int64(head[0]) << 8 | Int64(head[1])
        return head[2] == TestRecord.keep ? -length : length
    }

    /// Every record in `stream` with its offset; nil if a record is cut or damaged.
    static func parse(_ stream: [UInt8]) -> [(kind: UInt8, seq: UInt32, offset: Int)]? {
        var out: [(UInt8, UInt32, Int)] = []
        var at = 0
        while at < stream.count {
            guard at + 7 <= stream.count else { return nil }
            let size = Int(stream[at]) << 8 | Int(stream[at + 1])
            let seq = stream[at + 3..<at + 7].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            guard size >= 7, at + size <= stream.count,
                  stream[at + 7..<at + size].allSatisfy({ $0 == UInt8(truncatingIfNeeded: seq) }) else { return nil }
            out.append((stream[at + 2], seq, at))
            at += size
        }
        return out
    }
}

/// On byte 1 queues `count` records through every send verb (copies, in-place, two parts, shared
/// frames), every seventh one a K record; on byte 2 drops `want` bytes of the oldest.
private final class DropHandler: WorkerHandler {
    let count: Int
    let want: Int
    let frame: OpaquePointer
    let queued = Atomic<Int>(0)
    /// Bytes not yet taken by the kernel when the drop began.
    let unsent = Atomic<Int>(0)
    let dropped = Atomic<Int>(-1)
    let droppedRecords = Atomic<Int>(0)
    /// The droppable records in queue order: their seq, 0 for the shared frame.
    let droppable = Mutex<[UInt32]>([])
    let kept = Mutex<[UInt32]>([])

    init(count: Int, want: Int, frame: OpaquePointer) {
        self.count = count
        self.want = want
        self.frame = frame
    }

    func handle(_ events: UnsafeMutableBufferPointer<EngineEvent>, on worker: Worker) {
        for event in events where event.kind == .data {
            let command = event.bytes[Int(event.result) - 1]
            if command == 1 { queueAll(event.connection, worker) }
            if command == 2 { unsent.store(worker.queuedBytes(event.connection), ordering: .relaxed) }
            if command == 2, let result = worker.dropOldest(event.connection, bytes: want, measure: TestRecord.measure) {
                droppedRecords.store(result.messages, ordering: .relaxed)
                dropped.store(result.bytes, ordering: .releasing)
            }
        }
    }

    private func queueAll(_ id: ConnectionID, _ worker: Worker) {
        var total = 0
        for index in 0..<count {
            let seq = UInt32(index + 1)
            let size = [40, 700, 3000, 20_000][index % 4]
            if index % 7 == 3 {
                let record = TestRecord.make(seq, kind: TestRecord.keep, size: 60)
                #expect(record.withUnsafeBytes { worker.send(id, $0) } == nil)
                kept.withLock { $0.append(seq) }
                total += record.count
                continue
            }
            if index % 11 == 5 {
                #expect(worker.sendShared(id, SharedBytes(raw: frame)) == nil)
                droppable.withLock { $0.append(0) }
                total += Int(rg_shared_length(frame))
                continue
            }
            let record = TestRecord.make(seq, kind: TestRecord.drop, size: index % 5 == 1 ? min(size, 16_000) : size)
            record.withUnsafeBytes { bytes in
                if index % 5 == 1, let space = worker.reserve(id, bytes.count) {
                    space.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
                    worker.commit(id, bytes.count)
                } else if index % 13 == 7 {
                    #expect(worker.sendParts(id, UnsafeRawBufferPointer(rebasing: bytes[..<7]), UnsafeRawBufferPointer(rebasing: bytes[7...])) == nil)
                } else {
                    #expect(worker.send(id, bytes) == nil)
                }
            }
            droppable.withLock { $0.append(seq) }
            total += record.count
        }
        queued.store(total, ordering: .releasing)
    }
}

@Suite("Dropping the oldest queued records")
struct DropOldestTests {
    /// Runs one scenario: queue behind a client that reads nothing, drop, then read it all.
    private func run(want: Int) throws -> (received: [(kind: UInt8, seq: UInt32, offset: Int)], handler: DropHandler, frame: OpaquePointer) {
        let frame = try #require(rg_shared_create(500))
        let record = TestRecord.make(0, kind: TestRecord.shared, size: 500)
        record.withUnsafeBytes { rg_shared_bytes(frame).update(from: $0.bindMemory(to: UInt8.self).baseAddress!, count: 500) }
        var config = EngineConfiguration()
        config.port = 0
        config.workers = 1
        config.sendQueueLimitBytes = 64 << 20
        config.sendPoolBytesPerWorker = 96 << 20  // touched only as used
        let engine = try Engine(config)
        // About 10 MB: more than the kernel's socket buffers can take (tcp_wmem allows 4 MiB).
        let handler = DropHandler(count: 1600, want: want, frame: frame)
        try engine.start { _ in handler }
        defer { engine.stop() }
        let client = try #require(LoopbackClient(port: engine.port, receiveTimeoutMs: 10_000, receiveBufferBytes: 4096))
        defer { client.close() }
        #expect(client.send([1]))
        #expect(eventually { handler.queued.load(ordering: .acquiring) > 0 })
        #expect(client.send([2]))
        #expect(eventually { handler.dropped.load(ordering: .acquiring) >= 0 })
        let expected = handler.queued.load(ordering: .acquiring) - handler.dropped.load(ordering: .acquiring)
        let stream = client.receive(exactly: expected)
        #expect(stream.count == expected)
        let received = try #require(TestRecord.parse(stream), "a record arrived cut or damaged")
        #expect(engine.stats.unexpected == 0)
        return (received, handler, frame)
    }

    /// Bytes the kernel had taken or was taking when the drop began, at most: what it took,
    /// plus a send in flight (up to `maxChunksPerSend` chunks) and the rest of a record that had started.
    private func startedBound(_ handler: DropHandler) -> Int {
        handler.queued.load(ordering: .relaxed) - handler.unsent.load(ordering: .relaxed)
            + Worker.maxChunksPerSend * Worker.reserveCapacity + 20_000
    }

    @Test("dropping everything droppable keeps every K record and every record that had started, and frees the shared frames")
    func dropEverything() throws {
        let (received, handler, frame) = try run(want: Int(UInt32.max))
        defer { rg_shared_release(frame) }
        #expect(received.filter { $0.kind == TestRecord.keep }.map(\.seq) == handler.kept.withLock { $0 })
        let droppable = handler.droppable.withLock { $0 }
        let survivors = received.filter { $0.kind != TestRecord.keep }
        #expect(survivors.count + handler.droppedRecords.load(ordering: .relaxed) == droppable.count)
        // What survived had started to leave: a prefix of the queue order, all of it early.
        #expect(Array(droppable.prefix(survivors.count)) == survivors.map(\.seq))
        #expect((survivors.last?.offset ?? 0) < startedBound(handler))
        #expect(handler.droppedRecords.load(ordering: .relaxed) > droppable.count / 4)
        #expect(eventually { rg_shared_refs(frame) == 1 })
    }

    @Test("dropping a little takes the oldest records that had not started, in one run")
    func dropALittle() throws {
        let (received, handler, frame) = try run(want: 30_000)
        defer { rg_shared_release(frame) }
        #expect(handler.dropped.load(ordering: .relaxed) >= 30_000)
        #expect(received.filter { $0.kind == TestRecord.keep }.map(\.seq) == handler.kept.withLock { $0 })
        let droppable = handler.droppable.withLock { $0 }
        let survivors = received.filter { $0.kind != TestRecord.keep }
        let gone = handler.droppedRecords.load(ordering: .relaxed)
        #expect(gone >= 1 && survivors.count + gone == droppable.count)
        // The queue order with one contiguous run removed, right after records that had started.
        let seqs = survivors.map(\.seq)
        let cuts = (0...survivors.count).filter { Array(droppable[..<$0] + droppable[($0 + gone)...]) == seqs }
        #expect(!cuts.isEmpty)
        #expect(cuts.contains { $0 == 0 || survivors[$0 - 1].offset < startedBound(handler) })
        #expect(eventually { rg_shared_refs(frame) == 1 })
    }
}
