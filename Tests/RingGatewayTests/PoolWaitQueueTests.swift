@testable import RingGateway
import Testing

@Suite("Messages waiting for send-pool room")
struct PoolWaitQueueTests {
    private func message(_ byte: UInt8) -> PoolWaitQueue.Message { .copy([byte]) }

    private func byte(_ message: PoolWaitQueue.Message) -> UInt8 {
        if case .copy(let bytes) = message { return bytes[0] }
        return 0
    }

    @Test("messages go out in order, longest-waiting connection first, and stop where the pool is dry again")
    func order() {
        var queue = PoolWaitQueue()
        queue.append(7, generation: 1, message(1))
        queue.append(3, generation: 1, message(2))
        queue.append(7, generation: 1, message(3))
        #expect(queue.holds(7) && queue.holds(3) && !queue.holds(5))
        #expect(queue.messageCount == 3)

        var sent: [(UInt32, UInt8)] = []
        let first = queue.flush { slot, _, message in
            guard sent.count < 1 else { return .poolDry }
            sent.append((slot, byte(message)))
            return .queued
        }
        #expect(first == 1)
        #expect(sent.map(\.0) == [7] && sent.map(\.1) == [1])
        #expect(queue.holds(7) && queue.messageCount == 2)

        let second = queue.flush { slot, _, message in
            sent.append((slot, byte(message)))
            return .queued
        }
        #expect(second == 2)
        #expect(sent.map(\.1) == [1, 3, 2])
        #expect(queue.isEmpty && !queue.holds(7))
    }

    @Test("a connection that closed loses what it was owed; a reused slot does not inherit it")
    func closedConnections() {
        var queue = PoolWaitQueue()
        queue.append(4, generation: 1, message(1))
        queue.append(5, generation: 1, message(2))
        queue.discard(4)
        #expect(!queue.holds(4) && queue.messageCount == 1)

        queue.append(5, generation: 2, message(3))  // slot 5 now names a new connection
        var seen: [(UInt32, UInt8)] = []
        queue.flush { _, generation, message in
            seen.append((generation, byte(message)))
            return .queued
        }
        #expect(seen.map(\.0) == [2] && seen.map(\.1) == [3])
    }

    @Test("a connection found gone is dropped whole and the rest still go")
    func gone() {
        var queue = PoolWaitQueue()
        queue.append(1, generation: 1, message(1))
        queue.append(1, generation: 1, message(2))
        queue.append(2, generation: 1, message(3))
        var sent: [UInt8] = []
        let queued = queue.flush { slot, _, message in
            if slot == 1 { return .gone }
            sent.append(byte(message))
            return .queued
        }
        #expect(queued == 1 && sent == [3] && queue.isEmpty)
    }
}
