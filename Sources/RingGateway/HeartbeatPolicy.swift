import RingTimers

/// What an open connection's timer calls for, decided from its ticks alone: no clock, no
/// socket, no wheel, so every rule is testable on virtual ticks (HeartbeatPolicyTests).
///
/// Heartbeats are lazy: receiving data only stores `lastSeen`; the wheel entry fires at the
/// earliest moment something could be due, and this decides what is due and when to look
/// again. A busy connection costs the wheel nothing per message.
struct HeartbeatPolicy: Equatable {
    var pingTicks: UInt32
    var pongTicks: UInt32
    /// 0: never park.
    var parkTicks: UInt32
    /// 0: no idle timeout.
    var idleTicks: UInt32

    init(pingTicks: UInt32, pongTicks: UInt32, parkTicks: UInt32, idleTicks: UInt32) {
        self.pingTicks = pingTicks
        self.pongTicks = pongTicks
        self.parkTicks = parkTicks
        self.idleTicks = idleTicks
    }

    init(_ limits: ConnectionLimits) {
        self.init(pingTicks: limits.pingTicks, pongTicks: limits.pongTicks, parkTicks: limits.parkTicks,
                  idleTicks: limits.idleTicks)
    }

    /// The connection as the timer finds it.
    struct Connection: Equatable {
        /// Tick of the last bytes received (any frame, pongs included).
        var lastSeen: UInt32
        /// Tick of the last data message.
        var lastMessage: UInt32
        var pingOutstanding: Bool
        var parked: Bool
    }

    enum Action: Equatable {
        /// No data message for the idle timeout: close with 1001 "idle timeout".
        case closeIdle
        /// Nothing since the ping, not even a pong: the peer or its path is gone.
        case closePongTimeout
        /// Look again at `next`; before that, ping and park as asked.
        case wait(ping: Bool, park: Bool, next: UInt32)
    }

    /// `inputPending` (the kernel holds bytes not yet read: a pong may be on its way up) is
    /// asked only when the pong is overdue.
    func decide(_ connection: Connection, now: UInt32, inputPending: () -> Bool) -> Action {
        let quietFor = now &- connection.lastSeen
        if idleTicks > 0, now &- connection.lastMessage >= idleTicks { return .closeIdle }
        var ping = false
        var next: UInt32
        if quietFor >= pingTicks &+ pongTicks {
            // Data the kernel already announced (a pong on its way up) is not silence: look
            // again next tick, for at most one more pong timeout.
            guard quietFor < pingTicks &+ pongTicks &+ pongTicks, inputPending() else {
                return .closePongTimeout
            }
            return .wait(ping: false, park: false, next: now &+ 1)
        } else if quietFor >= pingTicks {
            ping = !connection.pingOutstanding
            next = connection.lastSeen &+ pingTicks &+ pongTicks
        } else {
            next = connection.lastSeen &+ pingTicks
        }
        var park = false
        if parkTicks > 0, !connection.parked {
            if quietFor >= parkTicks {
                park = true
            } else {
                next = Ticks.earlier(next, connection.lastSeen &+ parkTicks)
            }
        }
        if idleTicks > 0 { next = Ticks.earlier(next, connection.lastMessage &+ idleTicks) }
        return .wait(ping: ping, park: park, next: next)
    }

    /// Most connections are quiet once upgraded, so they start parked (when parking is on).
    var parksOnUpgrade: Bool { parkTicks > 0 }

    /// The first check after the upgrade, when the first of ping and idle could be due, spread
    /// over half of that by `seed`: a million clients that connect in the same second must not
    /// all be visited in the same tick.
    func firstCheck(now: UInt32, seed: UInt32) -> UInt32 {
        var first = pingTicks
        if idleTicks > 0 { first = min(first, idleTicks) }
        return now &+ first &- TimingWheel.jitter(for: seed, window: first) / 2
    }

    /// A parked connection heard from again within the park window of earlier data is busy
    /// again: it goes back to a multishot recv. Data after a longer silence keeps it parked.
    func unparks(parked: Bool, lastSeen: UInt32, now: UInt32) -> Bool {
        parked && now &- lastSeen < parkTicks
    }
}
