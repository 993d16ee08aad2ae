import Logging
import RingEngine
import RingWebSocket

// A client whose send queue is full does not read as fast as it is sent to. `--slow-client`
// says what happens then: `pause` stops reading from it (echo-style traffic slows down with
// it), `close` closes it (1008 or 1013, `--slow-client-close-code`), and `drop` drops its
// oldest queued messages that have not started to leave, so it keeps the newest.

/// For `Worker.dropOldest`: whole data messages may go; control frames and fragments stay.
private let droppableFrame: RecordMeasure = { head, available in
    guard let head, let frame = QueuedFrame.measure(UnsafeRawBufferPointer(start: head, count: Int(available))) else { return 0 }
    return frame.isWholeDataMessage ? Int64(frame.totalBytes) : -Int64(frame.totalBytes)
}

extension GatewayWorker {
    /// Under the drop policy, drops the connection's oldest unsent messages until `total` more
    /// bytes fit under the queue limit; true when they now do. On wss://
    /// the queue holds encrypted records, which cannot be cut: false.
    func makeRoom(_ slot: UInt32, for total: Int) -> Bool {
        guard sendQueue.slowClients == .drop else { return false }
        let connection = id(slot)
        let queued = worker.queuedBytes(connection)
        guard let want = sendQueue.bytesToDrop(for: total, behind: queued),
              let dropped = worker.dropOldest(connection, bytes: want, measure: droppableFrame) else { return false }
        counters.droppedOldest += UInt64(dropped.messages)
        noteDrops(UInt64(dropped.messages))
        let left = queued - dropped.bytes
        return sendQueue.fits(total, behind: left)
    }

    /// The client's queue (or the worker's pool) is full: the client is not keeping up. Under
    /// the drop policy the new message goes too (what was queued had started to leave); otherwise
    /// the client gets a close frame (past the limit) and the connection closes, bounded by the
    /// close timeout.
    func overflow(_ slot: UInt32) -> Bool {
        if configuration.slowClientPolicy == .drop {
            counters.droppedNewest += 1
            noteDrops(1)
            return false
        }
        counters.sendQueueOverflows += 1
        let code = configuration.slowClientCloseCode
        reportClosed(slot, code: code.rawValue)
        closeWithFrame(slot, code: code, reason: "send queue full")
        return false
    }

    /// One line per worker at most every ten seconds while messages are being dropped.
    private func noteDrops(_ count: UInt64) {
        guard count > 0, let total = dropLog.note(now: now, count: count) else { return }
        let line = "worker \(worker.index): \(total) messages dropped for slow clients since the last line "
            + "(\(counters.droppedOldest) queued and \(counters.droppedNewest) new ones so far)"
        GatewayLog.logger.warning("\(line)")
    }

    /// Stops reading the client: its own queue is over half full, or (`forPool`) the worker's
    /// send pool is down to its reserve (GatewayWorker+SendPool.swift).
    func pause(_ slot: UInt32, forPool: Bool = false) {
        let state = states.pointer(slot)
        guard !state.pointee.flags.contains(.paused) else { return }
        state.pointee.flags.insert(.paused)
        worker.pause(id(slot))
        paused.append(slot)
        if forPool { counters.pausedForSendPool += 1 } else { counters.pausedForBackpressure += 1 }
    }

    /// Resumes reading from paused connections whose queues have drained, unless the send
    /// pool is still down to its reserve or owes messages.
    func resumeDrained() {
        guard !worker.sendPressure, poolWait.isEmpty else { return }
        paused.removeAll { slot in
            let state = states.pointer(slot)
            guard state.pointee.phase == .open, state.pointee.flags.contains(.paused) else {
                state.pointee.flags.remove(.paused)
                return true
            }
            guard sendQueue.resumes(with: worker.queuedBytes(id(slot))) else { return false }
            state.pointee.flags.remove(.paused)
            resumeReading(slot)
            return true
        }
    }

    /// Reads from the client again once nothing holds it back: neither its own full queue
    /// (`paused`) nor its worker's (`waitingForWorker`, GatewayWorker+Backend.swift).
    func resumeReading(_ slot: UInt32) {
        let flags = states[slot].flags
        guard !flags.contains(.paused), !flags.contains(.waitingForWorker) else { return }
        worker.resume(id(slot))
    }
}
