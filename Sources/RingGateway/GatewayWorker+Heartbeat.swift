import RingEngine
import RingTimers
import RingWebSocket

// Heartbeats, lazily: receiving data only stores `lastSeenTick`; the wheel
// entry fires at the earliest moment something could be due, and the handler
// re-checks the connection and re-arms from what it finds. A busy connection
// costs the wheel nothing per message.
extension GatewayWorker {
    func expire(_ slot: UInt32) {
        let state = states.pointer(slot)
        switch state.pointee.phase {
        case .free:
            return
        case .handshake:
            counters.handshakeTimeouts += 1
            if pendingUpgrades.removeValue(forKey: slot) != nil {
                // The worker did not decide in time: the client gets an answer, the worker CLOSED.
                backendCounters.upgradesRefused += 1
                reportClosed(slot, code: CloseCode.abnormalClosure.rawValue)
                answerHTTP(slot, status: 503, body: "the application did not answer in time")
            } else {
                worker.close(id(slot), .abort)
            }
        case .closing:
            counters.closeTimeouts += 1
            worker.close(id(slot), .abort)
        case .open:
            if drain.isActive, closeIfDrainDue(slot) { return }
            heartbeat(slot, state)
        }
    }

    private func heartbeat(_ slot: UInt32, _ state: UnsafeMutablePointer<ConnectionState>) {
        let quietFor = now &- state.pointee.lastSeenTick
        if limits.idleTicks > 0, now &- state.pointee.lastMessageTick >= limits.idleTicks {
            counters.idleTimeouts += 1
            closeWithFrame(slot, code: .goingAway, reason: "idle timeout")
            return
        }
        var next: UInt32
        if quietFor >= limits.pingTicks &+ limits.pongTicks {
            // Data the kernel already announced (a pong on its way up) is not silence: look again
            // next tick, for at most one more pong timeout.
            if worker.inputPending(id(slot)), quietFor < limits.pingTicks &+ limits.pongTicks &+ limits.pongTicks {
                wheel.schedule(slot, at: now &+ 1)
                return
            }
            // Nothing since the ping, not even a pong: the peer or its path is gone (1006 locally).
            counters.pongTimeouts += 1
            worker.close(id(slot), .abort)
            return
        } else if quietFor >= limits.pingTicks {
            if !state.pointee.flags.contains(.pingOutstanding) {
                state.pointee.flags.insert(.pingOutstanding)
                if sendControlFrame(slot, .ping, UnsafeRawBufferPointer(start: nil, count: 0)) {
                    counters.pingsSent += 1
                }
            }
            next = state.pointee.lastSeenTick &+ limits.pingTicks &+ limits.pongTicks
        } else {
            next = state.pointee.lastSeenTick &+ limits.pingTicks
        }
        if limits.parkTicks > 0, !state.pointee.flags.contains(.parked) {
            if quietFor >= limits.parkTicks {
                state.pointee.flags.insert(.parked)
                worker.park(id(slot))
                counters.parked += 1
            } else {
                next = earlier(next, state.pointee.lastSeenTick &+ limits.parkTicks)
            }
        }
        if limits.idleTicks > 0 {
            next = earlier(next, state.pointee.lastMessageTick &+ limits.idleTicks)
        }
        wheel.schedule(slot, at: cappedByDrain(slot, next))
    }

    /// The earlier of two ticks, compared by wrapping difference.
    private func earlier(_ a: UInt32, _ b: UInt32) -> UInt32 {
        Int32(bitPattern: b &- a) < 0 ? b : a
    }
}
