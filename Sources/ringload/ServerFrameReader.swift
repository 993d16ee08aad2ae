/// Reads the unmasked frames a server sends, across receive buffers, keeping
/// only what the load generator needs: each frame's opcode and its first
/// eight payload bytes (where echoed messages carry their send timestamp).
///
/// 32 bytes per connection; it never holds a payload.
struct ServerFrameReader {
    /// Header bytes received so far (at most 10: server frames are unmasked).
    private var header: (UInt64, UInt16) = (0, 0)
    private var headerCount: UInt8 = 0
    private var opcode: UInt8 = 0
    private var prefixCount: UInt8 = 0
    private var inPayload = false
    /// Payload bytes still to come in the current frame.
    private var remaining: UInt64 = 0
    /// The first payload bytes, for the timestamp.
    private var prefix: UInt64 = 0

    /// A frame is complete: its opcode, the first up-to-8 payload bytes and how many there were.
    typealias FrameSink = (_ opcode: UInt8, _ prefix: UInt64, _ prefixCount: Int) -> Void

    mutating func consume(_ buffer: UnsafeRawBufferPointer, _ frame: FrameSink) {
        guard let base = buffer.baseAddress else { return }
        var offset = 0
        let count = buffer.count
        while offset < count {
            if !inPayload {
                withUnsafeMutableBytes(of: &header) { $0[Int(headerCount)] = base.load(fromByteOffset: offset, as: UInt8.self) }
                headerCount += 1
                offset += 1
                guard let length = headerLength() else { continue }
                opcode = withUnsafeBytes(of: &header) { $0[0] } & 0x0F
                remaining = length
                prefix = 0
                prefixCount = 0
                headerCount = 0
                inPayload = true
                if remaining == 0 {
                    inPayload = false
                    frame(opcode, 0, 0)
                }
                continue
            }
            let take = Int(min(remaining, UInt64(count - offset)))
            if prefixCount < 8 {
                let copy = min(take, 8 - Int(prefixCount))
                withUnsafeMutableBytes(of: &prefix) { dst in
                    dst.baseAddress!.advanced(by: Int(prefixCount)).copyMemory(from: base + offset, byteCount: copy)
                }
                prefixCount += UInt8(copy)
            }
            offset += take
            remaining -= UInt64(take)
            if remaining == 0 {
                inPayload = false
                frame(opcode, prefix, Int(prefixCount))
            }
        }
    }

    /// The payload length once the header is complete, else nil.
    private func headerLength() -> UInt64? {
        withUnsafeBytes(of: header) { bytes -> UInt64? in
            let n = Int(headerCount)
            guard n >= 2 else { return nil }
            let short = bytes[1] & 0x7F
            switch short {
            case 126:
                guard n >= 4 else { return nil }
                return UInt64(bytes[2]) << 8 | UInt64(bytes[3])
            case 127:
                guard n >= 10 else { return nil }
                var value: UInt64 = 0
                for i in 2..<10 { value = value << 8 | UInt64(bytes[i]) }
                return value
            default:
                return UInt64(short)
            }
        }
    }
}
