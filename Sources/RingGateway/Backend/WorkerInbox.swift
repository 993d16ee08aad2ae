import RingEngine
import RingGateProtocol
import Synchronization

/// Commands for one gateway thread, queued by the hub. The hub appends a
/// batch under the lock and posts one mail; the gateway thread takes the
/// whole batch at once, so the lock is held briefly on both sides.
final class WorkerInbox: Sendable {
    static let mailTag: UInt64 = 0x6C696E6B  // "link"

    private let pending = Mutex(LinkWriter(capacity: 64 << 10))
    let queuedBytes = Atomic<Int>(0)
    private let signaled = Atomic<Bool>(false)
    let worker: Worker

    init(worker: Worker) { self.worker = worker }

    /// Hub side: appends `batch` and wakes the gateway thread if it is not already woken.
    func deliver(_ batch: inout LinkWriter) {
        guard !batch.isEmpty else { return }
        let count = batch.count
        pending.withLock { $0.raw(batch.bytes) }
        batch.reset()
        queuedBytes.add(count, ordering: .relaxed)
        wake()
    }

    /// Posts the mail unless one is outstanding; a full mailbox is retried on the next call.
    func wake() {
        guard !signaled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if !worker.post(tag: Self.mailTag, nil) { signaled.store(false, ordering: .releasing) }
    }

    /// Gateway side: swaps the queued records into `into` (which must be empty).
    func take(into: inout LinkWriter) {
        signaled.store(false, ordering: .releasing)
        pending.withLock { swap(&$0, &into) }
        queuedBytes.subtract(into.count, ordering: .relaxed)
    }
}
