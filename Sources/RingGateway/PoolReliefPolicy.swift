import RingTimers

/// Which clients give the send pool back while it stays down to its reserve: those whose queue
/// made no progress (never got shorter) for the whole grace period, the close timeout. While the
/// pool is pressed no client is read, so a queue can only shrink as its client reads; one that
/// does not shrink for that long belongs to a client that is not reading, whose data (or even a
/// close frame) cannot reach it. Plain values, tested without a socket (PoolReliefPolicyTests).
struct PoolReliefPolicy {
    /// A holder's queue at the last look, and since when it has not shrunk.
    struct Stall: Equatable {
        var queued: Int
        var since: UInt32
    }

    let graceTicks: UInt32

    /// The holder's stall after a look that found `queued` bytes at `now`, and whether it goes.
    func look(_ previous: Stall?, queued: Int, now: UInt32) -> (stall: Stall, resets: Bool) {
        guard let previous, queued >= previous.queued else { return (Stall(queued: queued, since: now), false) }
        return (Stall(queued: queued, since: previous.since), Ticks.reached(previous.since &+ graceTicks, now: now))
    }
}
