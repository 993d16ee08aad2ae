import RingGateProtocol
import Synchronization

/// Gathers one PRESENCE answer from every gateway thread's part; the last
/// thread to add its part writes the single event to the asking link.
final class PresenceCollector: Sendable {
    private struct Parts {
        var ids: [[UInt64]]
        var total = 0
        var remaining: Int
    }

    let request: UInt32
    let offset: UInt32
    let limit: UInt32
    let topic: String
    let link: BackendLink
    private let parts: Mutex<Parts>

    init(request: UInt32, offset: UInt32, limit: UInt32, topic: String, link: BackendLink, workers: Int) {
        self.request = request
        self.offset = offset
        self.limit = limit
        self.topic = topic
        self.link = link
        parts = Mutex(Parts(ids: Array(repeating: [], count: workers), remaining: workers))
    }

    /// Adds one thread's ids and its subscriber count; true when this was the last part
    /// and the answer is queued on the link (the caller wakes the hub).
    func add(worker: Int, ids: [UInt64], count: Int) -> Bool {
        let finished: Parts? = parts.withLock { parts in
            parts.ids[worker] = ids
            parts.total += count
            parts.remaining -= 1
            return parts.remaining == 0 ? parts : nil
        }
        guard let finished else { return false }
        if link.alive.load(ordering: .relaxed) { queueAnswer(finished, from: worker) }
        return true
    }

    /// `thread`: the outbox of the gateway thread that added the last part.
    private func queueAnswer(_ parts: Parts, from thread: Int) {
        let all = parts.ids.joined().dropFirst(Int(offset)).prefix(Int(limit))
        link.queue(from: thread) { writer in
            writer.presence(request: request, total: parts.total, offset: offset, ids: all, topic: topic)
        }
    }

    func passRetained() -> UInt64 { UInt64(UInt(bitPattern: Unmanaged.passRetained(self).toOpaque())) }

    static func takeRetained(_ raw: UInt64) -> PresenceCollector {
        Unmanaged<PresenceCollector>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(raw))!).takeRetainedValue()
    }
}
