import Logging
import RingEngine
import RingTimers
import RingTopics
import RingWebSocket

// The worker's send pool is shared by all its connections. A client that reads is never closed
// because others keep the pool busy: while the pool is down to its reserve (which covers answers
// to what has been read), the gateway stops reading clients and stops taking fan-outs and worker
// commands that send; a message that still finds the pool dry waits in `poolWait`, in order,
// until sends complete and give chunks back.
extension GatewayWorker {
    /// Stops reading a client while the send pool is down to its reserve.
    func pauseForPool(_ slot: UInt32) {
        guard !states[slot].flags.contains(.paused) else { return }
        pause(slot, forPool: true)
        if !pausedForPool {
            pausedForPool = true
            noteSendPool("the send pool is down to its reserve; reading paused until it drains")
        }
    }

    /// Keeps a message the pool had no room for; it goes out, in order, once there is room. A
    /// data message (`payload` bytes) counts as sent now: it will be, unless its client goes.
    func owe(_ slot: UInt32, _ message: PoolWaitQueue.Message, payload: Int? = nil) -> Bool {
        poolWait.append(slot, generation: states[slot].generation, message)
        counters.sendPoolWaits += 1
        if let payload {
            counters.messagesOut += 1
            counters.bytesOut += UInt64(payload)
        }
        pauseForPool(slot)
        return true
    }

    /// Closes the connection the way `mode` says, after what it is owed when it is owed anything.
    func closeAfterOwed(_ slot: UInt32, _ mode: CloseMode) {
        if poolWait.holds(slot) {
            poolWait.append(slot, generation: states[slot].generation, .close(mode))
        } else {
            worker.close(id(slot), mode)
        }
    }

    /// Once per batch while anything waits on the pool: queues what is owed, then, with the
    /// pressure gone and nothing owed, reads paused clients again.
    func catchUpWithPool() {
        if !poolWait.isEmpty {
            poolWait.flush { slot, generation, message in
                let connection = ConnectionID(slot: slot, generation: generation)
                let refusal: SendRefusal? = switch message {
                case .copy(let bytes): bytes.withUnsafeBytes { worker.sendControl(connection, $0) }
                case .shared(let frame): worker.sendShared(connection, frame.shared) == nil ? nil : worker.sendControl(connection, frame.bytes)
                case .close(let mode): worker.close(connection, mode) ? nil : .stale
                }
                switch refusal {
                case nil: return .queued
                case .poolDry?: return .poolDry
                case .full?, .stale?, .closing?: return .gone
                }
            }
        }
        guard pausedForPool, poolWait.isEmpty, !worker.sendPressure else { return }
        pausedForPool = false
        resumeDrained()
    }

    /// At each tick while the pool is down to its reserve: a client whose queue has not shrunk
    /// for the close timeout is reset (PoolReliefPolicy), so clients that do not read cannot
    /// hold the ones that do paused. Scans the table, but only while the pool is pressed.
    func relievePool() {
        let policy = PoolReliefPolicy(graceTicks: limits.closeTicks)
        guard worker.sendPressure else {
            // The stalls are kept through a short relief: resets free memory, everyone is read
            // again, and a client that still does not read must not start its clock over.
            if !stalls.isEmpty {
                let since = pressureGoneSince ?? now
                pressureGoneSince = since
                if Ticks.reached(since &+ policy.graceTicks, now: now) { stalls = [:] }
            }
            return
        }
        pressureGoneSince = nil
        var next: [UInt32: PoolReliefPolicy.Stall] = [:]
        var reset = 0
        for slot in 0..<UInt32(states.count) {
            let phase = states[slot].phase
            guard phase == .open || phase == .closing else { continue }
            // Only the queue in the pool: what waits in `poolWait` cannot shrink while the pool
            // is dry, whether its client reads or not, so it says nothing about the client.
            let queued = worker.queuedBytes(id(slot))
            guard queued > 0 else { continue }
            let look = policy.look(stalls[slot], queued: queued, now: now)
            if look.resets {
                reportClosed(slot, code: configuration.slowClientCloseCode.rawValue)
                worker.close(id(slot), .abort)
                reset += 1
            } else {
                next[slot] = look.stall
            }
        }
        stalls = next
        guard reset > 0 else { return }
        counters.slowClientsReset += UInt64(reset)
        guard let total = reliefLog.note(now: now, count: UInt64(reset)) else { return }
        GatewayLog.logger.warning("""
            worker \(worker.index): reset \(total) clients whose queues did not shrink for the close timeout \
            while the send pool was at its reserve (they do not read)
            """)
    }

    /// A frame's bytes on the heap, for `poolWait` (a cold path: the pool was dry).
    func encodedFrame(_ opcode: Opcode, _ payload: UnsafeRawBufferPointer) -> [UInt8] {
        let header = FrameEncoder.headerSize(payloadLength: payload.count)
        return [UInt8](unsafeUninitializedCapacity: header + payload.count) { buffer, count in
            let base = UnsafeMutableRawPointer(buffer.baseAddress!)
            FrameEncoder.writeHeader(into: base, opcode: opcode, fin: true, payloadLength: payload.count)
            if let source = payload.baseAddress { (base + header).copyMemory(from: source, byteCount: payload.count) }
            count = header + payload.count
        }
    }

    private func noteSendPool(_ what: String) {
        guard let _ = poolLog.note(now: now, count: 1) else { return }
        let stats = worker.stats
        GatewayLog.logger.warning(
            "worker \(worker.index): \(what) (\(stats.sendPoolUsed) of \(stats.sendPoolBudget) bytes in use; --send-pool sets the budget)"
        )
    }
}
