import RingEngine
import RingGateProtocol
import Synchronization
import RingTimers
import RingWebSocket

// Graceful drain, on each worker. The main thread stops the listeners and posts one `drain` mail
// to every worker; from then on each open connection gets a close frame (1001 Going Away, or 1012
// Service Restart when a new process took over) at its own moment in the drain window:
// start + hash(worker, slot) mod window. A million clients then reconnect spread over the window
// instead of in one second. The moment rides on the connection's existing timing-wheel entry, so
// the drain costs one walk of the slot table when it starts and nothing per tick. A close frame
// goes out behind whatever is already queued, so queued messages are still delivered.

/// The drain as one worker sees it: when each of its connections closes, and with what.
/// Pure arithmetic on ticks, so the spread is testable without sockets (DrainScheduleTests).
struct DrainState: Equatable {
    var isActive = false
    var startTick: UInt32 = 0
    var windowTicks: UInt32 = 0
    var code = CloseCode.goingAway
    /// Mixed into the spread so different workers close their slots in a different order.
    var workerIndex = 0

    /// The tick at which `slot` closes: spread by a hash so neighbouring slots (connections
    /// that arrived together) close far apart.
    func closeTick(_ slot: UInt32) -> UInt32 {
        guard windowTicks > 0 else { return startTick }
        var hash = (slot &+ 1) &* 0x9E37_79B1 ^ UInt32(truncatingIfNeeded: workerIndex) &* 0x85EB_CA6B
        hash ^= hash >> 16
        hash = hash &* 0x7FEB_352D
        hash ^= hash >> 15
        return startTick &+ hash % windowTicks
    }

    /// True once `slot`'s moment has come.
    func isDue(_ slot: UInt32, now: UInt32) -> Bool {
        isActive && Ticks.reached(closeTick(slot), now: now)
    }

    /// `tick`, or the slot's close moment if that comes first.
    func capped(_ slot: UInt32, _ tick: UInt32) -> UInt32 {
        isActive ? Ticks.earlier(tick, closeTick(slot)) : tick
    }

    /// The close frame's reason for the drain's code.
    var reason: StaticString { code == .serviceRestart ? "service restart" : "going away" }
}

/// Mail the gateway posts to its workers, packed into the 64-bit tag so posting allocates nothing.
/// Layout: kind (8 bits) | close code (16) | unused (8) | window in ms (32). Kind 0xff is the
/// core's own (RG_MAIL_STOP_ACCEPTING); other kinds are free for other features.
enum GatewayMail {
    static let drainKind: UInt64 = 0x01

    static func drain(code: CloseCode, windowMs: UInt32) -> UInt64 {
        drainKind << 56 | UInt64(code.rawValue) << 40 | UInt64(windowMs)
    }
}

extension GatewayWorker {
    /// Handles a mail tag posted with `Worker.post`; unknown kinds are ignored.
    func received(mail tag: UInt64) {
        switch tag >> 56 {
        case GatewayMail.drainKind:
            let code = CloseCode(rawValue: UInt16(truncatingIfNeeded: tag >> 40)) ?? .goingAway
            startDrain(code: code, windowMs: UInt32(truncatingIfNeeded: tag))
        case GatewayMail.limitsKind:
            applyReloadedLimits()
        default:
            break
        }
    }

    /// Starts the drain: every open connection is scheduled to close within the window.
    func startDrain(code: CloseCode, windowMs: UInt32) {
        guard !drain.isActive else { return }
        drain = DrainState(
            isActive: true, startTick: now, windowTicks: windowMs == 0 ? 0 : configuration.ticks(windowMs), code: code,
            workerIndex: worker.index
        )
        announceDrain()
        for slot in 0..<UInt32(states.count) where states[slot].phase == .open {
            if closeIfDrainDue(slot) { continue }
            wheel.schedule(slot, at: drain.capped(slot, wheel.deadline(of: slot) ?? drain.closeTick(slot)))
        }
    }

    /// Hook for parts that must hear of the drain before connections close (the backend link
    /// tells its application workers here). Runs on the worker's thread, once per drain.
    func announceDrain() {
        guard let backend, worker.index == 0 else { return }
        // One DRAINING per link: thread 0 tells every worker once.
        let deadline = UInt32(clamping: Int(drain.windowTicks) * Int(configuration.tickMs))
        for link in backend.directory.links where link.alive.load(ordering: .relaxed) {
            link.queue(from: worker.index) { writer in
                writer.draining(deadlineMs: deadline)
            }
        }
        backend.hub.wake()
    }

    /// Closes `slot` with the drain's code if its moment has come; returns whether it did.
    func closeIfDrainDue(_ slot: UInt32) -> Bool {
        guard drain.isDue(slot, now: now) else { return false }
        counters.drainCloses += 1
        closeWithFrame(slot, code: drain.code, reason: drain.reason)
        return true
    }

    /// `tick`, or the slot's drain moment if that comes first.
    func cappedByDrain(_ slot: UInt32, _ tick: UInt32) -> UInt32 { drain.capped(slot, tick) }
}
