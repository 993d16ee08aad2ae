@testable import RingGateway
import Testing

@Suite("Log throttle")
struct LogThrottleTests {
    @Test("the first occurrence logs at once, later ones are summed into the next line an interval on, across tick wrap")
    func throttles() {
        var log = LogThrottle(intervalTicks: 100)
        let start = UInt32.max - 50
        #expect(log.note(now: start) == 1)
        #expect(log.note(now: start &+ 10, count: 3) == nil)
        #expect(log.note(now: start &+ 99) == nil)
        #expect(log.note(now: start &+ 100) == 5)
        #expect(log.pending == 0)
        #expect(log.note(now: start &+ 150) == nil)
    }
}
