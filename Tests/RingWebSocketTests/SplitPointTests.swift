// One stream mixing every kind of frame, fed whole, cut once at every offset, cut twice at
// every pair of offsets, and byte by byte: every plan must give identical events.

import RingWebSocket
import Testing

@Suite struct SplitPointTests {
    static let stream: [UInt8] =
        clientFrame(0x1, text: "hi")
        + clientFrame(0x2, fin: false, payload: [1, 2])
        + clientFrame(0x9, payload: [7])
        + clientFrame(0x0, fin: false, payload: [])
        + clientFrame(0xA, payload: [])
        + clientFrame(0x0, payload: [3])
        + clientFrame(0x1, payload: Array(repeating: 0x62, count: 130))
        + clientFrame(0x1, fin: false, payload: [0xE2, 0x82])
        + clientFrame(0x0, payload: [0xAC])
        + clientFrame(0x8, payload: closePayload(1000, Array("ok".utf8)))

    static let expected: [Event] = [
        .text("hi"), .ping([7]), .pong([]), .message(.binary, [1, 2, 3]),
        .message(.text, Array(repeating: 0x62, count: 130)), .text("€"), .close(1000, Array("ok".utf8)),
    ]

    @Test func everySingleCutAndByteByByte() {
        for cuts in splitPlans(for: Self.stream.count, pairsUpTo: 0) {
            #expect(feed(Self.stream, cuts: cuts).events == Self.expected, "cuts \(cuts)")
        }
    }

    @Test func everyPairOfCuts() {
        let count = Self.stream.count
        for first in 1..<count {
            for second in (first + 1)..<count {
                let events = feed(Self.stream, cuts: [first, second]).events
                if events != Self.expected {
                    Issue.record("cuts [\(first), \(second)] gave \(events)")
                    return
                }
            }
        }
    }
}
