@testable import RingGateway
import RingTimers
import Testing

@Suite("Heartbeat policy on virtual ticks")
struct HeartbeatPolicyTests {
    /// Ping after 30 ticks of silence, pong within 10, park after 10, no idle timeout.
    let policy = HeartbeatPolicy(pingTicks: 30, pongTicks: 10, parkTicks: 10, idleTicks: 0)

    /// What a connection's timer did over virtual ticks, as the worker carries it out: each
    /// check at the tick the previous one asked for; `answers(tick)` says whether the peer's
    /// pong (or any data) arrives at that tick.
    private func timeline(
        _ policy: HeartbeatPolicy, until end: UInt32, start: UInt32 = 0, pending: Bool = false,
        answers: (UInt32) -> Bool = { _ in false }
    ) -> [String] {
        var connection = HeartbeatPolicy.Connection(lastSeen: start, lastMessage: start, pingOutstanding: false, parked: false)
        var events: [String] = []
        var check = policy.firstCheck(now: start, seed: 7)
        var tick = start
        while tick &- start < end {
            tick &+= 1
            if connection.pingOutstanding, answers(tick) {
                connection.lastSeen = tick
                connection.pingOutstanding = false
                events.append("pong@\(tick &- start)")
            }
            guard tick == check else { continue }
            switch policy.decide(connection, now: tick, inputPending: { pending }) {
            case .closeIdle:
                return events + ["idle close@\(tick &- start)"]
            case .closePongTimeout:
                return events + ["pong timeout@\(tick &- start)"]
            case .wait(let ping, let park, let next):
                if park {
                    connection.parked = true
                    events.append("park@\(tick &- start)")
                }
                if ping {
                    connection.pingOutstanding = true
                    events.append("ping@\(tick &- start)")
                }
                #expect(Int32(bitPattern: next &- tick) > 0, "the next check must be in the future")
                check = next
            }
        }
        return events
    }

    @Test("a silent peer is parked, pinged once, and closed when the pong is overdue")
    func silentPeer() {
        let first = policy.firstCheck(now: 0, seed: 7)
        #expect((15...30).contains(first), "the first check is spread over the second half of the ping interval")
        #expect(timeline(policy, until: 200) == ["park@\(first)", "ping@30", "pong timeout@40"])
    }

    @Test("a peer that answers every ping is kept, pinged once per interval of silence")
    func answeringPeer() {
        let events = timeline(policy, until: 200) { _ in true }
        #expect(events.filter { $0.hasPrefix("ping") } == ["ping@30", "ping@61", "ping@92", "ping@123", "ping@154", "ping@185"])
        #expect(!events.contains { $0.contains("timeout") })
    }

    @Test("a pong already in the kernel buys at most one more pong timeout")
    func pendingInput() {
        #expect(timeline(policy, until: 200, pending: true).suffix(2) == ["ping@30", "pong timeout@50"])
        let overdue = HeartbeatPolicy.Connection(lastSeen: 0, lastMessage: 0, pingOutstanding: true, parked: true)
        #expect(policy.decide(overdue, now: 40, inputPending: { true }) == .wait(ping: false, park: false, next: 41))
    }

    @Test("the kernel is asked about pending input only once the pong is overdue")
    func inputAskedLazily() {
        var asked = 0
        let quiet = HeartbeatPolicy.Connection(lastSeen: 0, lastMessage: 0, pingOutstanding: false, parked: false)
        for now: UInt32 in [5, 10, 30, 39] { _ = policy.decide(quiet, now: now) { asked += 1; return false } }
        #expect(asked == 0)
        _ = policy.decide(quiet, now: 40) { asked += 1; return false }
        #expect(asked == 1)
    }

    @Test("no second ping while one is outstanding")
    func onePingAtATime() {
        let pinged = HeartbeatPolicy.Connection(lastSeen: 0, lastMessage: 0, pingOutstanding: true, parked: true)
        #expect(policy.decide(pinged, now: 35, inputPending: { false }) == .wait(ping: false, park: false, next: 40))
    }

    @Test("the idle timeout counts data messages, not pongs")
    func idleTimeout() {
        let idle = HeartbeatPolicy(pingTicks: 30, pongTicks: 10, parkTicks: 10, idleTicks: 100)
        #expect(timeline(idle, until: 300) { _ in true }.last == "idle close@100")
        let chatty = HeartbeatPolicy.Connection(lastSeen: 95, lastMessage: 95, pingOutstanding: false, parked: true)
        #expect(idle.decide(chatty, now: 100, inputPending: { false }) == .wait(ping: false, park: false, next: 125))
    }

    @Test("without parking nothing is parked, and the next check is the ping's")
    func noParking() {
        let never = HeartbeatPolicy(pingTicks: 30, pongTicks: 10, parkTicks: 0, idleTicks: 0)
        #expect(!never.parksOnUpgrade)
        #expect(timeline(never, until: 200) == ["ping@30", "pong timeout@40"])
    }

    @Test("ticks wrap around without a spurious ping or timeout")
    func wrapAround() {
        let start = UInt32.max - 12
        #expect(timeline(policy, until: 200, start: start) { _ in true }.prefix(2) == ["park@\(policy.firstCheck(now: 0, seed: 7))", "ping@30"])
        #expect(Ticks.earlier(UInt32.max - 1, 3) == UInt32.max - 1)
        #expect(Ticks.earlier(3, UInt32.max - 1) == UInt32.max - 1)
    }

    @Test("data within the park window of earlier data unparks; after a longer silence it does not")
    func unparking() {
        #expect(policy.unparks(parked: true, lastSeen: 100, now: 105))
        #expect(!policy.unparks(parked: true, lastSeen: 100, now: 110))
        #expect(!policy.unparks(parked: false, lastSeen: 100, now: 105))
    }
}
