// FrameReceiver: valid traffic of every size class, fragmentation, control frames, and the
// zero-copy promise. Violations live in FrameViolationTests.swift.

import RingWebSocket
import Testing

@Suite struct FrameReceiverTests {
    @Test func fitsItsByteBudget() {
        #expect(MemoryLayout<FrameReceiver>.size <= 32)
        #expect(MemoryLayout<FrameReceiver>.stride <= 32)
    }

    @Test func idleReceiverHoldsNothing() {
        let receiver = FrameReceiver()
        #expect(receiver.isIdle)
        #expect(receiver.violation == nil)
        #expect(!receiver.hasReceivedClose)
    }

    @Test(arguments: [0, 1, 125, 126, 65535, 65536, 1 << 20])
    func binaryOfEverySizeClass(size: Int) {
        var generator = SeededGenerator(seed: UInt64(size))
        let payload = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let stream = clientFrame(0x2, payload: payload)
        let expected: [Event] = [.message(.binary, payload)]
        let whole = feed(stream)
        #expect(whole.events == expected)
        #expect(whole.appendCalls == 0, "a whole single-frame message is delivered zero-copy")
        for cuts in sampleCuts(count: stream.count, generator: &generator) {
            #expect(feed(stream, cuts: cuts).events == expected, "cuts \(cuts)")
        }
    }

    @Test(arguments: [0, 1, 125, 126, 65535, 65536, 1 << 20])
    func textOfEverySizeClass(size: Int) {
        // Mixed ASCII and multi-byte characters so cuts land inside sequences.
        let unit = Array("aé€😀".utf8)
        let payload = (0..<size).map { unit[$0 % unit.count] }
        var truncated = payload
        while String(validating: truncated, as: UTF8.self) == nil { truncated.removeLast() }
        let stream = clientFrame(0x1, payload: truncated)
        var generator = SeededGenerator(seed: 7)
        #expect(events(stream) == [.message(.text, truncated)])
        for cuts in sampleCuts(count: stream.count, generator: &generator) {
            #expect(feed(stream, cuts: cuts).events == [.message(.text, truncated)], "cuts \(cuts)")
        }
    }

    @Test func nonMinimalLengthEncodingsAreAccepted() {
        let payload = Array("hello".utf8)
        #expect(events(clientFrame(0x1, payload: payload, lengthForm: 2)) == [.text("hello")])
        #expect(events(clientFrame(0x1, payload: payload, lengthForm: 8)) == [.text("hello")])
        #expect(events(clientFrame(0x9, payload: payload, lengthForm: 0)) == [.ping(payload)])
    }

    @Test func fragmentedMessageWithInterleavedControlFrames() {
        let stream = clientFrame(0x1, fin: false, text: "Hel")
            + clientFrame(0x9, text: "p1")
            + clientFrame(0x0, fin: false, text: "lo")
            + clientFrame(0xA, text: "p2")
            + clientFrame(0x0, fin: false, text: "")
            + clientFrame(0x0, text: " wörld")
            + clientFrame(0x2, payload: [1, 2, 3])
        let expected: [Event] = [.ping(Array("p1".utf8)), .pong(Array("p2".utf8)), .text("Hello wörld"), .message(.binary, [1, 2, 3])]
        #expect(events(stream) == expected)
    }

    @Test func fragmentedBinaryAndEmptyFragments() {
        let stream = clientFrame(0x2, fin: false, payload: [])
            + clientFrame(0x0, fin: false, payload: [9])
            + clientFrame(0x0, payload: [])
        #expect(events(stream) == [.message(.binary, [9])])
    }

    @Test func controlFramesAtTheirLimits() {
        let big = [UInt8](repeating: 0x5A, count: 125)
        #expect(events(clientFrame(0x9, payload: big)) == [.ping(big)])
        #expect(events(clientFrame(0xA, payload: [])) == [.pong([])])
        #expect(events(clientFrame(0x8, payload: closePayload(1000, Array(repeating: 0x61, count: 123))))
            == [.close(1000, Array(repeating: 0x61, count: 123))])
    }

    @Test func closeFrames() {
        #expect(events(clientFrame(0x8, payload: [])) == [.close(nil, [])])
        #expect(events(clientFrame(0x8, payload: closePayload(1001, Array("bye ✓".utf8)))) == [.close(1001, Array("bye ✓".utf8))])
    }

    @Test(arguments: [UInt16(1000), 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999])
    func validCloseCodes(code: UInt16) {
        #expect(events(clientFrame(0x8, payload: closePayload(code))) == [.close(code, [])])
    }

    @Test func bytesAfterCloseAreIgnored() {
        var receiver = FrameReceiver()
        var handler = RecordingHandler()
        var stream = clientFrame(0x8, payload: closePayload(1000)) + clientFrame(0x1, text: "late") + [0xFF, 0xFF]
        let outcome = stream.withUnsafeMutableBytes { receiver.receive($0, limits: FrameLimits(), handler: &handler) }
        #expect(outcome == .ok)
        #expect(receiver.hasReceivedClose)
        #expect(handler.events == [.close(1000, [])])
        var more = clientFrame(0x1, text: "later")
        #expect(more.withUnsafeMutableBytes { receiver.receive($0, limits: FrameLimits(), handler: &handler) } == .ok)
        #expect(handler.events.count == 1)
    }

    @Test func payloadIsUnmaskedInPlace() {
        var receiver = FrameReceiver()
        var handler = RecordingHandler()
        var stream = clientFrame(0x2, payload: Array(0..<40))
        _ = stream.withUnsafeMutableBytes { receiver.receive($0, limits: FrameLimits(), handler: &handler) }
        #expect(Array(stream[6...]) == Array(0..<40))
    }

    @Test func splitMessageGoesThroughReassemblyAndIsReleased() {
        let stream = clientFrame(0x2, payload: Array(repeating: 7, count: 300))
        let handler = feed(stream, cuts: [100])
        #expect(handler.events == [.message(.binary, Array(repeating: 7, count: 300))])
        #expect(handler.appendCalls == 2)
        #expect(handler.data.count == 0 && handler.data.base == nil)
    }

    @Test func controlFrameSplitInsideFragmentedMessage() {
        let stream = clientFrame(0x1, fin: false, text: "ab") + clientFrame(0x9, text: "ping!") + clientFrame(0x0, text: "cd")
        let splitInsidePing = clientFrame(0x1, fin: false, text: "ab").count + 8
        let handler = feed(stream, cuts: [splitInsidePing])
        #expect(handler.events == [.ping(Array("ping!".utf8)), .text("abcd")])
        #expect(handler.control.count == 0)
    }

    @Test func receiverIsIdleBetweenMessagesOnly() {
        var receiver = FrameReceiver()
        var handler = RecordingHandler()
        var first = clientFrame(0x1, fin: false, text: "a")
        _ = first.withUnsafeMutableBytes { receiver.receive($0, limits: FrameLimits(), handler: &handler) }
        #expect(!receiver.isIdle)
        var second = clientFrame(0x0, text: "b")
        _ = second.withUnsafeMutableBytes { receiver.receive($0, limits: FrameLimits(), handler: &handler) }
        #expect(receiver.isIdle)
        var headerPiece: [UInt8] = [0x81]
        _ = headerPiece.withUnsafeMutableBytes { receiver.receive($0, limits: FrameLimits(), handler: &handler) }
        #expect(!receiver.isIdle)
    }

    @Test func emptyBufferIsHarmless() {
        var receiver = FrameReceiver()
        var handler = RecordingHandler()
        let outcome = receiver.receive(UnsafeMutableRawBufferPointer(start: nil, count: 0), limits: FrameLimits(), handler: &handler)
        #expect(outcome == .ok)
        #expect(handler.events.isEmpty)
    }
}

/// Cut lists for large streams: around the header and payload edges, and some random ones.
func sampleCuts(count: Int, generator: inout SeededGenerator) -> [[Int]] {
    guard count > 1 else { return [] }
    if count <= 300 { return splitPlans(for: count, pairsUpTo: 0) }
    var plans: [[Int]] = [1, 2, 3, 5, 9, 10, 13, 14, 15, count / 2, count - 1].filter { $0 < count }.map { [$0] }
    for _ in 0..<8 {
        let cuts = (0..<Int.random(in: 1...6, using: &generator)).map { _ in Int.random(in: 1..<count, using: &generator) }
        plans.append(Array(Set(cuts)).sorted())
    }
    return plans
}

@Suite struct FrameReceiverLayoutTests {
    @Test func zeroedMemoryIsAFreshReceiver() {
        var fresh = FrameReceiver()
        let freshBytes = withUnsafeBytes(of: &fresh) { Array($0) }
        #expect(freshBytes.allSatisfy { $0 == 0 })
        // And a zero-filled receiver works.
        let slot = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<FrameReceiver>.stride, alignment: 16)
        defer { slot.deallocate() }
        slot.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<FrameReceiver>.stride)
        let receiver = slot.assumingMemoryBound(to: FrameReceiver.self)
        var handler = RecordingHandler()
        var stream = clientFrame(0x1, text: "zero")
        let outcome = stream.withUnsafeMutableBytes { receiver.pointee.receive($0, limits: FrameLimits(), handler: &handler) }
        #expect(outcome == .ok)
        #expect(handler.events == [.text("zero")])
    }
}
