import RingEngine
import RingTimers
import RingWebSocket

// A connection's timer: handshake and close timeouts here, heartbeats as HeartbeatPolicy
// decides them.
extension GatewayWorker {
    func expire(_ slot: UInt32) {
        let state = states.pointer(slot)
        switch state.pointee.phase {
        case .free:
            return
        case .handshake:
            counters.handshakeTimeouts += 1
            if let pending = pendingUpgrades.removeValue(forKey: slot) {
                // The worker did not decide in time: the client gets an answer, the worker CLOSED.
                backendCounters.upgradesRefused += 1
                reportClosed(slot, code: CloseCode.abnormalClosure.rawValue)
                refuseUpgrade(slot, pending.request, status: 503, body: "the application did not answer in time")
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

    /// Carries out what the heartbeat policy decides for an open connection.
    private func heartbeat(_ slot: UInt32, _ state: UnsafeMutablePointer<ConnectionState>) {
        let connection = HeartbeatPolicy.Connection(
            lastSeen: state.pointee.lastSeenTick, lastMessage: state.pointee.lastMessageTick,
            pingOutstanding: state.pointee.flags.contains(.pingOutstanding), parked: state.pointee.flags.contains(.parked)
        )
        switch limits.heartbeats.decide(connection, now: now, inputPending: { worker.inputPending(id(slot)) }) {
        case .closeIdle:
            counters.idleTimeouts += 1
            closeWithFrame(slot, code: .goingAway, reason: "idle timeout")
        case .closePongTimeout:
            counters.pongTimeouts += 1
            worker.close(id(slot), .abort)  // 1006 locally: there is nobody to send a close frame to
        case .wait(let ping, let park, let next):
            if ping {
                state.pointee.flags.insert(.pingOutstanding)
                if sendControlFrame(slot, .ping, UnsafeRawBufferPointer(start: nil, count: 0)) {
                    counters.pingsSent += 1
                }
            }
            if park {
                state.pointee.flags.insert(.parked)
                worker.park(id(slot))
                counters.parked += 1
            }
            wheel.schedule(slot, at: cappedByDrain(slot, next))
        }
    }
}
