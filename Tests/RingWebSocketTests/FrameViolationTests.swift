// Every protocol violation FrameReceiver detects, each with its exact close code, at every
// split point where the stream is short enough.

import RingWebSocket
import Testing

@Suite struct FrameViolationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let stream: [UInt8]
        let expected: [Event]
        let violation: ProtocolViolation
        var testDescription: String { name }
    }

    static let mask: [UInt8] = [1, 2, 3, 4]

    static let cases: [Case] = [
        Case(name: "unmasked", stream: clientFrame(0x1, masked: false, payload: [0x61]), expected: [.fail(.protocolError)], violation: .unmaskedFrame),
        Case(name: "rsv1", stream: clientFrame(0x1, rsv: 4, payload: [0x61]), expected: [.fail(.protocolError)], violation: .reservedBitsSet),
        Case(name: "rsv2", stream: clientFrame(0x2, rsv: 2, payload: []), expected: [.fail(.protocolError)], violation: .reservedBitsSet),
        Case(name: "rsv3", stream: clientFrame(0x9, rsv: 1, payload: []), expected: [.fail(.protocolError)], violation: .reservedBitsSet),
        Case(name: "opcode 3", stream: clientFrame(0x3, payload: []), expected: [.fail(.protocolError)], violation: .unknownOpcode),
        Case(name: "opcode 7", stream: clientFrame(0x7, payload: []), expected: [.fail(.protocolError)], violation: .unknownOpcode),
        Case(name: "opcode B", stream: clientFrame(0xB, payload: []), expected: [.fail(.protocolError)], violation: .unknownOpcode),
        Case(name: "opcode F", stream: clientFrame(0xF, payload: []), expected: [.fail(.protocolError)], violation: .unknownOpcode),
        Case(name: "ping 126", stream: clientFrame(0x9, payload: Array(repeating: 0, count: 126)), expected: [.fail(.protocolError)], violation: .controlFrameTooLong),
        Case(name: "close 126 long form", stream: clientFrame(0x8, payload: [3, 232], lengthForm: 2), expected: [.fail(.protocolError)], violation: .controlFrameTooLong),
        Case(name: "fragmented ping", stream: clientFrame(0x9, fin: false, payload: [1]), expected: [.fail(.protocolError)], violation: .fragmentedControlFrame),
        Case(name: "fragmented close", stream: clientFrame(0x8, fin: false, payload: []), expected: [.fail(.protocolError)], violation: .fragmentedControlFrame),
        Case(name: "continuation first", stream: clientFrame(0x0, payload: [1]), expected: [.fail(.protocolError)], violation: .unexpectedContinuation),
        Case(name: "continuation after complete message",
             stream: clientFrame(0x1, text: "a") + clientFrame(0x0, text: "b"),
             expected: [.text("a"), .fail(.protocolError)], violation: .unexpectedContinuation),
        Case(name: "text inside message", stream: clientFrame(0x1, fin: false, text: "a") + clientFrame(0x1, text: "b"),
             expected: [.fail(.protocolError)], violation: .dataFrameInsideMessage),
        Case(name: "binary inside message", stream: clientFrame(0x2, fin: false, payload: []) + clientFrame(0x2, payload: []),
             expected: [.fail(.protocolError)], violation: .dataFrameInsideMessage),
        Case(name: "64-bit top bit", stream: [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1] + mask,
             expected: [.fail(.protocolError)], violation: .lengthTopBitSet),
        Case(name: "close length 1", stream: clientFrame(0x8, payload: [3]), expected: [.fail(.protocolError)], violation: .closePayloadTooShort),
        Case(name: "invalid utf-8 text", stream: clientFrame(0x1, payload: [0x61, 0xFF, 0x62]),
             expected: [.fail(.invalidFramePayloadData)], violation: .invalidUTF8),
        Case(name: "invalid utf-8 fragment", stream: clientFrame(0x1, fin: false, payload: [0xC3]) + clientFrame(0x0, payload: [0x28]),
             expected: [.fail(.invalidFramePayloadData)], violation: .invalidUTF8),
        Case(name: "truncated utf-8 at end", stream: clientFrame(0x1, fin: false, text: "ok") + clientFrame(0x0, payload: [0xE2, 0x82]),
             expected: [.fail(.invalidFramePayloadData)], violation: .invalidUTF8),
        Case(name: "invalid utf-8 close reason", stream: clientFrame(0x8, payload: closePayload(1000, [0xC0, 0xAF])),
             expected: [.fail(.invalidFramePayloadData)], violation: .invalidCloseReasonUTF8),
        Case(name: "truncated utf-8 close reason", stream: clientFrame(0x8, payload: closePayload(1000, [0xF0, 0x9F, 0x98])),
             expected: [.fail(.invalidFramePayloadData)], violation: .invalidCloseReasonUTF8),
        Case(name: "ping then unmasked", stream: clientFrame(0x9, text: "x") + clientFrame(0xA, masked: false, payload: []),
             expected: [.ping([0x78]), .fail(.protocolError)], violation: .unmaskedFrame),
    ]

    @Test(arguments: cases)
    func violationAtEverySplit(_ testCase: Case) {
        for cuts in splitPlans(for: testCase.stream.count) {
            #expect(feed(testCase.stream, cuts: cuts).events == testCase.expected, "cuts \(cuts)")
        }
        var receiver = FrameReceiver()
        var handler = RecordingHandler()
        var stream = testCase.stream
        _ = stream.withUnsafeMutableBytes { receiver.receive($0, limits: FrameLimits(), handler: &handler) }
        #expect(receiver.violation == testCase.violation)
    }

    @Test(arguments: [UInt16(0), 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535])
    func invalidCloseCodes(code: UInt16) {
        let stream = clientFrame(0x8, payload: closePayload(code, Array("why".utf8)))
        for cuts in splitPlans(for: stream.count, pairsUpTo: 0) {
            #expect(feed(stream, cuts: cuts).events == [.fail(.protocolError)], "cuts \(cuts)")
        }
    }

    @Test func failureIsSticky() {
        var receiver = FrameReceiver()
        var handler = RecordingHandler()
        var bad: [UInt8] = [0x81, 0x00]
        #expect(bad.withUnsafeMutableBytes { receiver.receive($0, limits: FrameLimits(), handler: &handler) } == .fail(.protocolError))
        var good = clientFrame(0x1, text: "a")
        #expect(good.withUnsafeMutableBytes { receiver.receive($0, limits: FrameLimits(), handler: &handler) } == .fail(.protocolError))
        #expect(handler.events.isEmpty)
    }

    @Test func everyViolationMapsToItsCloseCode() {
        for violation in ProtocolViolation.allCases {
            let expected: CloseCode
            switch violation {
            case .invalidUTF8, .invalidCloseReasonUTF8: expected = .invalidFramePayloadData
            case .messageTooBig, .messageStorageExhausted: expected = .messageTooBig
            case .controlStorageExhausted: expected = .internalError
            default: expected = .protocolError
            }
            #expect(violation.closeCode == expected, "\(violation)")
            #expect(violation.closeReason.utf8CodeUnitCount <= 123)
        }
    }

    // MARK: - Limits

    @Test func singleFrameOverLimit() {
        let limits = FrameLimits(maxMessageBytes: 10)
        #expect(events(clientFrame(0x2, payload: Array(repeating: 0, count: 10)), limits: limits) == [.message(.binary, Array(repeating: 0, count: 10))])
        let stream = clientFrame(0x2, payload: Array(repeating: 0, count: 11))
        for cuts in splitPlans(for: stream.count, pairsUpTo: 0) {
            #expect(feed(stream, cuts: cuts, limits: limits).events == [.fail(.messageTooBig)])
        }
    }

    @Test func fragmentsOverLimitTogether() {
        let limits = FrameLimits(maxMessageBytes: 10)
        let stream = clientFrame(0x1, fin: false, text: "123456") + clientFrame(0x9, text: "ping") + clientFrame(0x0, text: "78901")
        #expect(feed(stream, limits: limits).events == [.ping(Array("ping".utf8)), .fail(.messageTooBig)])
    }

    @Test func declaredLengthFailsBeforePayloadArrives() {
        // Only the header of a 4 GiB frame: the receiver must refuse it without waiting.
        let header: [UInt8] = [0x82, 0xFF, 0, 0, 0, 1, 0, 0, 0, 0]
        #expect(feed(header).events == [.fail(.messageTooBig)])
        #expect(feed(header, cuts: [3, 7]).events == [.fail(.messageTooBig)])
    }

    @Test func controlFramesDoNotCountAgainstTheMessageLimit() {
        let limits = FrameLimits(maxMessageBytes: 4)
        let stream = clientFrame(0x9, payload: Array(repeating: 1, count: 100)) + clientFrame(0x2, payload: [1, 2, 3, 4])
        #expect(feed(stream, limits: limits).events == [.ping(Array(repeating: 1, count: 100)), .message(.binary, [1, 2, 3, 4])])
    }

    @Test func dataStorageExhaustedIs1009() {
        var handler = RecordingHandler()
        handler.dataCapacity = 5
        let stream = clientFrame(0x2, payload: Array(repeating: 1, count: 20))
        #expect(feed(stream, cuts: [8], handler: handler).events == [.fail(.messageTooBig)])
    }

    @Test func controlStorageExhaustedIs1011() {
        var handler = RecordingHandler()
        handler.controlCapacity = 5
        let stream = clientFrame(0x9, payload: Array(repeating: 1, count: 20))
        let result = feed(stream, cuts: [8], handler: handler)
        #expect(result.events == [.fail(.internalError)])
    }

    @Test func failureReleasesReassemblyStorage() {
        let stream = clientFrame(0x1, fin: false, text: "abc") + clientFrame(0x0, payload: [0xFF])
        let result = feed(stream)
        #expect(result.events == [.fail(.invalidFramePayloadData)])
        #expect(result.data.count == 0 && result.data.base == nil)
    }
}
