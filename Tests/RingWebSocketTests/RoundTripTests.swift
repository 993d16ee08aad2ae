// Property test: random messages encoded with the client-side FrameEncoder, fragmented,
// interleaved with control frames, cut at random points, must come out of FrameReceiver
// exactly as sent. The seed is fixed so a failure repeats.

import RingWebSocket
import Testing

@Suite struct RoundTripTests {
    @Test func randomTrafficAtRandomSplits() {
        var generator = SeededGenerator(seed: 0xC0FFEE)
        for round in 0..<300 {
            var stream: [UInt8] = []
            var expected: [Event] = []
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                let (frames, events) = randomMessage(&generator)
                stream += frames
                expected += events
            }
            if Bool.random(using: &generator) {
                let reason = Array("done".utf8)
                stream += encode(.close, fin: true, payload: closePayload(1000, reason), &generator)
                expected.append(.close(1000, reason))
                stream += encode(.text, fin: true, payload: [0xFF], &generator)  // ignored after close
            }
            let cutCount = Int.random(in: 0...10, using: &generator)
            let cuts = Array(Set((0..<cutCount).map { _ in Int.random(in: 1..<max(stream.count, 2), using: &generator) })).sorted()
            #expect(feed(stream, cuts: cuts).events == expected, "round \(round) cuts \(cuts)")
        }
    }

    func randomMessage(_ generator: inout SeededGenerator) -> ([UInt8], [Event]) {
        let isText = Bool.random(using: &generator)
        let size: Int
        switch Int.random(in: 0..<10, using: &generator) {
        case 0: size = 0
        case 1..<7: size = Int.random(in: 1...130, using: &generator)
        case 7, 8: size = Int.random(in: 126...2000, using: &generator)
        default: size = Int.random(in: 65_530...70_000, using: &generator)
        }
        var payload: [UInt8]
        if isText {
            let alphabet = ["a", "Z", " ", "é", "€", "😀", "ß", "\u{10FFFF}"].map { Array($0.utf8) }
            payload = []
            while payload.count < size { payload += alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }
        } else {
            payload = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
        }
        var events: [Event] = []
        var frames: [UInt8] = []
        let fragmentCount = Int.random(in: 1...4, using: &generator)
        var start = 0
        for index in 0..<fragmentCount {
            let isLast = index == fragmentCount - 1
            let end = isLast ? payload.count : Int.random(in: start...payload.count, using: &generator)
            let opcode: Opcode = index == 0 ? (isText ? .text : .binary) : .continuation
            frames += encode(opcode, fin: isLast, payload: Array(payload[start..<end]), &generator)
            start = end
            if !isLast, Int.random(in: 0..<3, using: &generator) == 0 {
                let control = (0..<Int.random(in: 0...125, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let isPing = Bool.random(using: &generator)
                frames += encode(isPing ? .ping : .pong, fin: true, payload: control, &generator)
                events.append(isPing ? .ping(control) : .pong(control))
            }
        }
        events.append(.message(isText ? .text : .binary, payload))
        return (frames, events)
    }

    func encode(_ opcode: Opcode, fin: Bool, payload: [UInt8], _ generator: inout SeededGenerator) -> [UInt8] {
        let key = UInt32.random(in: 0...UInt32.max, using: &generator)
        var frame = [UInt8](repeating: 0, count: FrameEncoder.maskedHeaderSize(payloadLength: payload.count) + payload.count)
        let written = frame.withUnsafeMutableBytes { buffer in
            payload.withUnsafeBytes { FrameEncoder.writeMaskedFrame(into: buffer, opcode: opcode, fin: fin, payload: $0, maskKey: key) }
        }
        #expect(written == frame.count)
        return frame
    }
}
