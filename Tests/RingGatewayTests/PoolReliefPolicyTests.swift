@testable import RingGateway
import Testing

@Suite("Send-pool relief")
struct PoolReliefPolicyTests {
    let policy = PoolReliefPolicy(graceTicks: 10)

    @Test("a queue that never shrinks for the grace period goes; one that shrinks starts over")
    func stalls() {
        var stall = policy.look(nil, queued: 5000, now: 100)
        #expect(stall == (PoolReliefPolicy.Stall(queued: 5000, since: 100), false))
        stall = policy.look(stall.stall, queued: 5000, now: 105)
        #expect(!stall.resets && stall.stall.since == 100)
        stall = policy.look(stall.stall, queued: 5006, now: 109)  // a ping joined it: still no progress
        #expect(!stall.resets && stall.stall.since == 100)
        #expect(policy.look(stall.stall, queued: 5006, now: 110).resets)
        let drained = policy.look(stall.stall, queued: 4000, now: 110)
        #expect(!drained.resets && drained.stall == PoolReliefPolicy.Stall(queued: 4000, since: 110), "it read")
    }

    @Test("ticks wrap")
    func wrap() {
        let start = policy.look(nil, queued: 1, now: UInt32.max - 3)
        #expect(!policy.look(start.stall, queued: 1, now: 2).resets)
        #expect(policy.look(start.stall, queued: 1, now: 6).resets)
    }
}
