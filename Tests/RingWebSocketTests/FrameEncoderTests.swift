// FrameEncoder: header sizes at the length-encoding edges, exact bytes, control frame
// helpers, and the client encoder read back by FrameReceiver.

import RingWebSocket
import Testing

@Suite struct FrameEncoderTests {
    func header(_ opcode: Opcode, fin: Bool = true, length: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0xEE, count: FrameEncoder.maxHeaderSize)
        let written = bytes.withUnsafeMutableBytes {
            FrameEncoder.writeHeader(into: $0.baseAddress!, opcode: opcode, fin: fin, payloadLength: length)
        }
        #expect(written == FrameEncoder.headerSize(payloadLength: length))
        return Array(bytes[..<written])
    }

    @Test func headerSizes() {
        #expect(FrameEncoder.headerSize(payloadLength: 0) == 2)
        #expect(FrameEncoder.headerSize(payloadLength: 125) == 2)
        #expect(FrameEncoder.headerSize(payloadLength: 126) == 4)
        #expect(FrameEncoder.headerSize(payloadLength: 65535) == 4)
        #expect(FrameEncoder.headerSize(payloadLength: 65536) == 10)
        #expect(FrameEncoder.maskedHeaderSize(payloadLength: 65536) == 14)
    }

    @Test func headerBytes() {
        #expect(header(.text, length: 0) == [0x81, 0x00])
        #expect(header(.binary, length: 125) == [0x82, 0x7D])
        #expect(header(.binary, fin: false, length: 126) == [0x02, 0x7E, 0x00, 0x7E])
        #expect(header(.continuation, length: 65535) == [0x80, 0x7E, 0xFF, 0xFF])
        #expect(header(.text, length: 65536) == [0x81, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0])
        #expect(header(.pong, length: 3) == [0x8A, 0x03])
    }

    @Test func headerInHeadroomBeforePayload() {
        // The gateway's pattern: payload at a fixed offset, header written right before it.
        var buffer = [UInt8](repeating: 0, count: FrameEncoder.maxHeaderSize + 300)
        let payloadOffset = FrameEncoder.maxHeaderSize
        let size = FrameEncoder.headerSize(payloadLength: 300)
        buffer.withUnsafeMutableBytes {
            FrameEncoder.writeHeader(into: $0.baseAddress! + payloadOffset - size, opcode: .binary, fin: true, payloadLength: 300)
        }
        #expect(Array(buffer[(payloadOffset - size)..<payloadOffset]) == [0x82, 0x7E, 0x01, 0x2C])
    }

    @Test func closeFrames() {
        var buffer = [UInt8](repeating: 0, count: 127)
        let reason = Array("bye".utf8)
        let written = buffer.withUnsafeMutableBytes { out in
            reason.withUnsafeBytes { FrameEncoder.writeClose(into: out, code: 1001, reason: $0) }
        }
        #expect(Array(buffer[..<written]) == [0x88, 0x05, 0x03, 0xE9] + reason)
        let empty = buffer.withUnsafeMutableBytes {
            FrameEncoder.writeClose(into: $0, code: nil, reason: UnsafeRawBufferPointer(start: nil, count: 0))
        }
        #expect(Array(buffer[..<empty]) == [0x88, 0x00])
        for violation in ProtocolViolation.allCases {
            let count = buffer.withUnsafeMutableBytes { FrameEncoder.writeClose(into: $0, for: violation) }
            let code = UInt16(buffer[2]) << 8 | UInt16(buffer[3])
            #expect(code == violation.closeCode.rawValue)
            #expect(Int(buffer[1]) == count - 2)
        }
    }

    @Test func pong() {
        var buffer = [UInt8](repeating: 0, count: 127)
        let written = buffer.withUnsafeMutableBytes { out in
            [UInt8]([1, 2, 3]).withUnsafeBytes { FrameEncoder.writePong(into: out, payload: $0) }
        }
        #expect(Array(buffer[..<written]) == [0x8A, 0x03, 1, 2, 3])
    }

    @Test func maskedFrameMatchesHandBuiltFrame() {
        let payload = Array("Hello".utf8)
        var buffer = [UInt8](repeating: 0, count: 64)
        let written = buffer.withUnsafeMutableBytes { out in
            payload.withUnsafeBytes { FrameEncoder.writeMaskedFrame(into: out, opcode: .text, fin: true, payload: $0, maskKey: 0x37FA_213D) }
        }
        // RFC 6455 section 5.7: a single-frame masked text message "Hello".
        #expect(Array(buffer[..<written]) == [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
        #expect(Array(buffer[..<written]) == clientFrame(0x1, text: "Hello"))
    }

    @Test func maskingIsAnInvolutionAtEveryLengthAndOffset() {
        var generator = SeededGenerator(seed: 99)
        for length in 0..<80 {
            let original = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let key = UInt32.random(in: 0...UInt32.max, using: &generator)
            var bytes = original
            bytes.withUnsafeMutableBytes { FrameEncoder.mask($0, maskKey: key) }
            let keyBytes = [UInt8(key >> 24), UInt8(key >> 16 & 0xFF), UInt8(key >> 8 & 0xFF), UInt8(key & 0xFF)]
            #expect(bytes == original.enumerated().map { $0.element ^ keyBytes[$0.offset % 4] })
            bytes.withUnsafeMutableBytes { FrameEncoder.mask($0, maskKey: key) }
            #expect(bytes == original)
        }
    }

    @Test(arguments: [0, 1, 125, 126, 65535, 65536])
    func maskedFramesRoundTrip(size: Int) {
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var frame = [UInt8](repeating: 0, count: FrameEncoder.maskedHeaderSize(payloadLength: size) + size)
        frame.withUnsafeMutableBytes { out in
            _ = payload.withUnsafeBytes { FrameEncoder.writeMaskedFrame(into: out, opcode: .binary, fin: true, payload: $0, maskKey: 0xA1B2_C3D4) }
        }
        #expect(frame == clientFrame(0x2, payload: payload, maskKey: [0xA1, 0xB2, 0xC3, 0xD4]))
        #expect(events(frame) == [.message(.binary, payload)])
    }
}
