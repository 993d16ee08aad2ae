import RingEngine
import RingTimers
import Synchronization

// Limits reloaded while running. The main thread leaves the new set in the worker's
// `reloadedLimits` and posts one `limits` mail; the worker swaps it in on its own thread between
// batches, so the hot path reads plain fields and never a lock.

extension GatewayMail {
    static let limitsKind: UInt64 = 0x02
    static let limits = limitsKind << 56
}

extension GatewayWorker {
    /// Takes the limits a reload left (Gateway.reloadLimits). New connections get them at once,
    /// open ones from their next message or timer; when a timeout changed, every open connection
    /// is checked at the next tick and re-armed from the new values (the per-tick expiry bound
    /// spreads a large table over several ticks).
    func applyReloadedLimits() {
        guard let fresh = reloadedLimits.withLock({ $0.take() }) else { return }
        let timersChanged = fresh.pingTicks != limits.pingTicks || fresh.pongTicks != limits.pongTicks
            || fresh.idleTicks != limits.idleTicks
        if fresh.limitsRate && rates == nil {
            // Zeroed pages: every window reads as fresh (no message counted yet).
            rates = SlotArray(count: states.count)
        }
        limits = fresh
        guard timersChanged else { return }
        for slot in 0..<UInt32(states.count) where states[slot].phase == .open {
            wheel.schedule(slot, at: cappedByDrain(slot, now &+ 1))
        }
    }
}
