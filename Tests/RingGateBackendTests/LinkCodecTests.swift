import RingGateProtocol
import Testing

@Suite struct LinkCodecTests {
    @Test func frameRoundTripsThroughWriterAndScanner() throws {
        var writer = LinkWriter()
        writer.begin(LinkCommand.send.rawValue)
        writer.u64(0x0102_0304_0506_0708)
        writer.u8(LinkPayloadKind.text.rawValue)
        writer.raw("hello")
        writer.end()
        let bytes = writer.take()
        #expect(bytes.count == 4 + 1 + 8 + 1 + 5)
        let fields: (UInt8, Int, UInt64, UInt8, [UInt8])? = try bytes.withUnsafeBytes { raw throws(LinkMalformed) in
            guard case .frame(let type, let body, let size) = LinkFrameScan.next(in: raw, maxFrame: 64) else { return nil }
            var reader = LinkReader(body)
            return (type, size, try reader.u64(), try reader.u8(), Array(reader.rest()))
        }
        let (type, size, conn, kind, payload) = try #require(fields)
        #expect(type == LinkCommand.send.rawValue)
        #expect(size == bytes.count)
        #expect(conn == 0x0102_0304_0506_0708)
        #expect(kind == 1)
        #expect(payload == Array("hello".utf8))
    }

    @Test func partialFramesAskForMoreAndBadLengthsAreRefused() {
        let whole: [UInt8] = [3, 0, 0, 0, 0x84, 1, 2]
        for cut in 0..<whole.count {
            whole.withUnsafeBytes { raw in
                guard case .needMore = LinkFrameScan.next(in: UnsafeRawBufferPointer(rebasing: raw[..<cut]), maxFrame: 64) else {
                    Issue.record("cut at \(cut) should need more")
                    return
                }
            }
        }
        for length: UInt32 in [0, 65] {
            withUnsafeBytes(of: length.littleEndian) { raw in
                guard case .invalidLength(let seen) = LinkFrameScan.next(in: raw, maxFrame: 64) else {
                    Issue.record("length \(length) accepted")
                    return
                }
                #expect(seen == length)
            }
        }
    }

    @Test func readerRefusesCountsThatRunPastTheBody() {
        let body: [UInt8] = [5, 0, 65, 66]  // str16 claiming 5 bytes, 2 present
        body.withUnsafeBytes { raw in
            var reader = LinkReader(raw)
            #expect(throws: LinkMalformed.self) { try reader.str16() }
        }
    }
}
