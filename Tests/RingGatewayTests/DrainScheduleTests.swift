@testable import RingGateway
import RingWebSocket
import Testing

@Suite("Drain schedule on virtual ticks")
struct DrainScheduleTests {
    let drain = DrainState(isActive: true, startTick: 1000, windowTicks: 100, code: .goingAway, workerIndex: 0)

    @Test("every connection closes inside the window, spread over all of it")
    func spread() {
        var perTick = [Int](repeating: 0, count: 100)
        for slot: UInt32 in 0..<20_000 {
            let tick = drain.closeTick(slot)
            #expect((1000..<1100).contains(tick))
            perTick[Int(tick - 1000)] += 1
        }
        // 200 a tick on average; neighbouring slots (clients that came together) do not bunch.
        #expect(perTick.min()! > 120 && perTick.max()! < 280, "\(perTick.min()!)...\(perTick.max()!)")
        let neighbours = (0..<100).map { drain.closeTick(UInt32($0)) }
        #expect(Set(neighbours).count > 50)
    }

    @Test("another worker closes its slots in another order")
    func perWorkerOrder() {
        var other = drain
        other.workerIndex = 1
        let same = (0..<1000).filter { drain.closeTick(UInt32($0)) == other.closeTick(UInt32($0)) }.count
        #expect(same < 50)
    }

    @Test("a connection is due from its moment on, and its timer is pulled in to it")
    func dueAndCapped() {
        let slot: UInt32 = 42
        let moment = drain.closeTick(slot)
        #expect(!drain.isDue(slot, now: moment &- 1))
        #expect(drain.isDue(slot, now: moment))
        #expect(drain.isDue(slot, now: moment &+ 500))
        #expect(drain.capped(slot, moment &+ 10) == moment)
        #expect(drain.capped(slot, moment &- 10) == moment &- 10)
    }

    @Test("no window: everything is due at the start; no drain: nothing changes")
    func edges() {
        let now = DrainState(isActive: true, startTick: 7, windowTicks: 0, code: .serviceRestart, workerIndex: 3)
        #expect(now.closeTick(99) == 7 && now.isDue(99, now: 7))
        #expect(now.reason.description == "service restart")
        let idle = DrainState()
        #expect(!idle.isDue(5, now: 1_000_000))
        #expect(idle.capped(5, 123) == 123)
    }

    @Test("ticks that wrap around keep the order")
    func wrap() {
        let late = DrainState(isActive: true, startTick: UInt32.max - 10, windowTicks: 100, code: .goingAway, workerIndex: 0)
        let moment = late.closeTick(9)
        #expect(late.isDue(9, now: moment) && !late.isDue(9, now: moment &- 1))
        #expect(late.capped(9, moment &+ 1) == moment)
    }
}
