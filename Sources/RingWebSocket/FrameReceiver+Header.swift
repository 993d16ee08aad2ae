// Frame header decoding (RFC 6455 section 5.2), from the buffer or from the spill.
//
//   0                   1                   2                   3
//   F R R R opcode  M len7      [16-bit or 64-bit extended length]  masking key (4)
//
// Every rule that the first two bytes can break is checked before waiting for the rest of
// the header, and the declared length is checked against the limit as soon as it is known,
// so a hostile peer is refused before it sends payload.

extension FrameReceiver {
    /// A decoded client frame header.
    @usableFromInline
    struct Header {
        @usableFromInline var fin: Bool
        @usableFromInline var opcode: UInt8
        @usableFromInline var length: UInt64
        @usableFromInline var maskKey: UInt32
        @usableFromInline var size: Int

        @inlinable
        init(fin: Bool, opcode: UInt8, length: UInt64, maskKey: UInt32, size: Int) {
            self.fin = fin
            self.opcode = opcode
            self.length = length
            self.maskKey = maskKey
            self.size = size
        }
    }

    @usableFromInline
    enum HeaderDecode {
        case needMore(Int)
        case violation(ProtocolViolation)
        case header(Header)
    }

    /// Decodes a header from `available` bytes at `pointer`.
    /// - Returns: the header, a violation, or how many bytes the header needs in total.
    @inlinable @inline(__always)
    func decodeHeader(_ pointer: UnsafeRawPointer, available: Int, limits: FrameLimits) -> HeaderDecode {
        if available < 2 { return .needMore(2) }
        let first = pointer.load(as: UInt8.self)
        let second = pointer.load(fromByteOffset: 1, as: UInt8.self)
        let fin = first & 0x80 != 0
        let opcode = first & 0x0F
        let shortLength = second & 0x7F
        if first & 0x70 != 0 { return .violation(.reservedBitsSet) }
        switch opcode {
        case Opcode.continuation.rawValue:
            if messageOpcode == 0 { return .violation(.unexpectedContinuation) }
        case Opcode.text.rawValue, Opcode.binary.rawValue:
            if messageOpcode != 0 { return .violation(.dataFrameInsideMessage) }
        case Opcode.close.rawValue, Opcode.ping.rawValue, Opcode.pong.rawValue:
            if !fin { return .violation(.fragmentedControlFrame) }
            if shortLength > 125 { return .violation(.controlFrameTooLong) }
        default:
            return .violation(.unknownOpcode)
        }
        if second & 0x80 == 0 { return .violation(.unmaskedFrame) }

        let lengthBytes = shortLength == 127 ? 8 : shortLength == 126 ? 2 : 0
        if available < 2 + lengthBytes { return .needMore(2 + lengthBytes + 4) }
        let length: UInt64
        switch lengthBytes {
        case 8:
            length = UInt64(bigEndian: pointer.loadUnaligned(fromByteOffset: 2, as: UInt64.self))
            if length >> 63 != 0 { return .violation(.lengthTopBitSet) }
        case 2:
            length = UInt64(UInt16(bigEndian: pointer.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
        default:
            length = UInt64(shortLength)
        }
        // Non-minimal length encodings are legal (section 5.2 only says "minimal number of
        // bytes MUST be used" of senders, and rejecting them gains nothing), so no check.
        if opcode & 0x8 == 0, messageBytes + length > UInt64(limits.maxMessageBytes) {
            return .violation(.messageTooBig)
        }
        let size = 2 + lengthBytes + 4
        if available < size { return .needMore(size) }
        let key = Masking.key(at: pointer + (2 + lengthBytes))
        return .header(Header(fin: fin, opcode: opcode, length: length, maskKey: key, size: size))
    }

    /// Reads the next header, from the buffer or by topping up the spill, then starts its
    /// frame. Consumes the whole buffer when the header is still incomplete.
    @inlinable
    mutating func readHeader<H: FrameHandler>(
        _ base: UnsafeMutableRawPointer, _ count: Int, _ offset: inout Int,
        _ limits: FrameLimits, _ handler: inout H
    ) -> ProtocolViolation? {
        if spillCount == 0 {
            switch decodeHeader(base + offset, available: count - offset, limits: limits) {
            case .header(let header):
                offset += header.size
                return beginFrame(header, base, count, &offset, &handler)
            case .violation(let problem):
                return problem
            case .needMore:
                // Fewer than 14 bytes are left, or the header would be complete.
                let rest = count - offset
                withUnsafeMutableBytes(of: &words) { spill in
                    spill.baseAddress!.copyMemory(from: base + offset, byteCount: rest)
                }
                spillCount = UInt8(rest)
                offset = count
                return nil
            }
        }
        while true {
            var spill = words
            let held = Int(spillCount)
            let decoded = withUnsafeBytes(of: &spill) {
                decodeHeader($0.baseAddress!, available: held, limits: limits)
            }
            switch decoded {
            case .header(let header):
                spillCount = 0
                return beginFrame(header, base, count, &offset, &handler)
            case .violation(let problem):
                return problem
            case .needMore(let needed):
                let take = min(needed - held, count - offset)
                if take == 0 { return nil }
                withUnsafeMutableBytes(of: &words) { spill in
                    (spill.baseAddress! + held).copyMemory(from: base + offset, byteCount: take)
                }
                spillCount += UInt8(take)
                offset += take
            }
        }
    }
}
