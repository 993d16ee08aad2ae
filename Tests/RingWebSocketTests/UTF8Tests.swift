// UTF-8 validation of text messages: the RFC 3629 edge cases, split across fragments and
// buffers, failing fast, and agreement with the standard library on random bytes.

@testable import RingWebSocket
import Testing

@Suite struct UTF8Tests {
    static let invalid: [(String, [UInt8])] = [
        ("overlong 2-byte C0", [0xC0, 0x80]),
        ("overlong 2-byte C1", [0xC1, 0xBF]),
        ("overlong 3-byte", [0xE0, 0x80, 0x80]),
        ("overlong 3-byte edge", [0xE0, 0x9F, 0xBF]),
        ("overlong 4-byte", [0xF0, 0x80, 0x80, 0x80]),
        ("overlong 4-byte edge", [0xF0, 0x8F, 0xBF, 0xBF]),
        ("surrogate low edge", [0xED, 0xA0, 0x80]),
        ("surrogate high edge", [0xED, 0xBF, 0xBF]),
        ("above U+10FFFF", [0xF4, 0x90, 0x80, 0x80]),
        ("F5 lead", [0xF5, 0x80, 0x80, 0x80]),
        ("FF", [0xFF]),
        ("lone continuation", [0x80]),
        ("truncated 2-byte", [0xC3]),
        ("truncated 3-byte", [0xE2, 0x82]),
        ("truncated 4-byte", [0xF0, 0x9F, 0x98]),
        ("ASCII in place of continuation", [0xE2, 0x41, 0x82]),
        ("valid then invalid after 8 ASCII", Array("abcdefgh".utf8) + [0xC0, 0xAF]),
    ]

    static let valid: [(String, [UInt8])] = [
        ("empty", []),
        ("U+0000", [0x00]),
        ("U+007F", [0x7F]),
        ("U+0080", [0xC2, 0x80]),
        ("U+07FF", [0xDF, 0xBF]),
        ("U+0800", [0xE0, 0xA0, 0x80]),
        ("U+D7FF", [0xED, 0x9F, 0xBF]),
        ("U+E000", [0xEE, 0x80, 0x80]),
        ("U+FFFF", [0xEF, 0xBF, 0xBF]),
        ("U+10000", [0xF0, 0x90, 0x80, 0x80]),
        ("U+10FFFF", [0xF4, 0x8F, 0xBF, 0xBF]),
        ("mixed", Array("κόσμε 😀 ascii-run-longer-than-eight €".utf8)),
    ]

    @Test func invalidSequencesFailWith1007AtEverySplit() {
        for (name, bytes) in Self.invalid {
            let single = clientFrame(0x1, payload: bytes)
            for cuts in splitPlans(for: single.count, pairsUpTo: 0) {
                #expect(feed(single, cuts: cuts).events == [.fail(.invalidFramePayloadData)], "\(name) cuts \(cuts)")
            }
            // The same bytes spread one per fragment.
            var fragmented: [UInt8] = []
            for (index, byte) in bytes.enumerated() {
                fragmented += clientFrame(index == 0 ? 0x1 : 0x0, fin: index == bytes.count - 1, payload: [byte])
            }
            #expect(events(fragmented) == [.fail(.invalidFramePayloadData)], "\(name) fragmented")
        }
    }

    @Test func validSequencesPassAtEverySplit() {
        for (name, bytes) in Self.valid {
            let single = clientFrame(0x1, payload: bytes)
            for cuts in splitPlans(for: single.count, pairsUpTo: 24) {
                #expect(feed(single, cuts: cuts).events == [.message(.text, bytes)], "\(name) cuts \(cuts)")
            }
        }
    }

    @Test func fourByteCharacterSplitAcrossFragments() {
        let emoji: [UInt8] = [0xF0, 0x9F, 0x98, 0x80]
        for split in 0...4 {
            let stream = clientFrame(0x1, fin: false, payload: Array(emoji[..<split]))
                + clientFrame(0x9, payload: [])
                + clientFrame(0x0, payload: Array(emoji[split...]))
            for cuts in splitPlans(for: stream.count, pairsUpTo: 0) {
                #expect(feed(stream, cuts: cuts).events == [.ping([]), .message(.text, emoji)], "split \(split) cuts \(cuts)")
            }
        }
    }

    @Test func failsFastBeforeTheMessageEnds() {
        // A 1000-byte text frame with a bad byte early: fed only its first 20 bytes, the
        // receiver already fails.
        var payload = [UInt8](repeating: 0x61, count: 1000)
        payload[5] = 0xFF
        let stream = clientFrame(0x1, payload: payload)
        #expect(feed(Array(stream[..<20])).events == [.fail(.invalidFramePayloadData)])
        // Same for a first fragment, with no continuation ever sent.
        #expect(events(clientFrame(0x1, fin: false, payload: [0x61, 0xED, 0xA0])) == [.fail(.invalidFramePayloadData)])
    }

    @Test func binaryIsNotValidated() {
        #expect(events(clientFrame(0x2, payload: [0xFF, 0xC0])) == [.message(.binary, [0xFF, 0xC0])])
    }

    @Test func agreesWithStandardLibraryOnRandomBytes() {
        var generator = SeededGenerator(seed: 0x5EED)
        // Bytes drawn from interesting ranges so valid multi-byte sequences actually occur.
        let pools: [ClosedRange<UInt8>] = [0x00...0x7F, 0x80...0xBF, 0xC0...0xDF, 0xE0...0xEF, 0xF0...0xF7, 0xF8...0xFF]
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...12, using: &generator)
            let bytes = (0..<count).map { _ in
                UInt8.random(in: pools[Int.random(in: 0..<pools.count, using: &generator)], using: &generator)
            }
            var validator = UTF8Validator()
            let ours = bytes.withUnsafeBytes { validator.validate($0) } && validator.isComplete
            let reference = String(validating: bytes, as: UTF8.self) != nil
            #expect(ours == reference, "\(bytes)")
            // Byte by byte must agree with all at once.
            var stepwise = UTF8Validator()
            var stepOK = true
            for byte in bytes where stepOK {
                stepOK = [byte].withUnsafeBytes { stepwise.validate($0) }
            }
            #expect((stepOK && stepwise.isComplete) == reference, "\(bytes) byte by byte")
        }
    }
}
