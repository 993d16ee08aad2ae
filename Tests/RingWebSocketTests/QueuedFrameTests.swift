import RingWebSocket
import Testing

@Suite("Reading queued server frames back")
struct QueuedFrameTests {
    private func measure(_ bytes: [UInt8]) -> QueuedFrame? {
        bytes.withUnsafeBytes { QueuedFrame.measure($0) }
    }

    /// A header the encoder writes, for a payload of `length` bytes.
    private func header(_ opcode: Opcode, fin: Bool = true, length: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: FrameEncoder.maxHeaderSize)
        let size = bytes.withUnsafeMutableBytes { FrameEncoder.writeHeader(into: $0.baseAddress!, opcode: opcode, fin: fin, payloadLength: length) }
        return Array(bytes.prefix(size))
    }

    @Test("every length encoding gives header plus payload", arguments: [0, 125, 126, 65_535, 65_536, 16 << 20])
    func lengths(length: Int) {
        let head = header(.binary, length: length)
        #expect(measure(head) == QueuedFrame(totalBytes: head.count + length, isWholeDataMessage: true))
    }

    @Test("whole text and binary messages may be dropped; fragments and control frames may not")
    func droppable() {
        #expect(measure(header(.text, length: 5))?.isWholeDataMessage == true)
        #expect(measure(header(.text, fin: false, length: 5))?.isWholeDataMessage == false)
        #expect(measure(header(.continuation, length: 5))?.isWholeDataMessage == false)
        for control in [Opcode.ping, .pong, .close] {
            #expect(measure(header(control, length: 2)) == QueuedFrame(totalBytes: 4, isWholeDataMessage: false))
        }
    }

    @Test("too few bytes for the header, or a header no server writes, gives nil")
    func refusals() {
        let long = header(.binary, length: 70_000)
        for count in 0..<long.count { #expect(measure(Array(long.prefix(count))) == nil) }
        #expect(measure([0x82 | 0x40, 1]) == nil)  // RSV1
        #expect(measure([0x82, 0x81]) == nil)  // masked
        #expect(measure([0x83, 1]) == nil)  // reserved opcode
        #expect(measure([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]) == nil)  // 2^63
    }
}
