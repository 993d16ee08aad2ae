import RingWebSocket

/// Frames built once per run: every send copies one of these, so the hot path
/// neither builds nor masks anything but the 8-byte timestamp.
struct ClientFrames: Sendable {
    /// The client's mask key. Fixed: a load generator has no cross-site cache to poison.
    static let maskKey: UInt32 = 0x3A5C_96E1

    let echo: [UInt8]
    let echoHeaderBytes: Int
    let trickle: [UInt8]
    let pong: [UInt8]
    let close: [UInt8]
    /// The end-of-hold probe: a binary message of these 8 bytes (no timestamp is this large).
    let probe: [UInt8]
    let probePayload: UInt64 = 0xFFFF_5052_4F42_4521
    /// The mask key repeated over eight payload bytes, in memory order.
    let maskWord: UInt64

    init(plan: LoadPlan) {
        // Binary: the timestamp bytes would not be valid UTF-8 in a text frame.
        let payload = [UInt8](repeating: 0, count: max(8, plan.messageBytes))
        echo = Self.masked(.binary, payload)
        echoHeaderBytes = FrameEncoder.maskedHeaderSize(payloadLength: payload.count)
        trickle = Self.masked(.text, [0x78])
        pong = Self.masked(.pong, [])
        close = Self.masked(.close, [0x03, 0xE8])
        probe = withUnsafeBytes(of: probePayload) { Self.masked(.binary, Array($0)) }
        // Zero bytes masked are the mask itself.
        maskWord = Self.masked(.binary, [UInt8](repeating: 0, count: 8)).withUnsafeBytes {
            $0.loadUnaligned(fromByteOffset: FrameEncoder.maskedHeaderSize(payloadLength: 8), as: UInt64.self)
        }
    }

    private static func masked(_ opcode: Opcode, _ payload: [UInt8]) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: FrameEncoder.maskedHeaderSize(payloadLength: payload.count) + payload.count)
        frame.withUnsafeMutableBytes { buffer in
            payload.withUnsafeBytes { source in
                _ = FrameEncoder.writeMaskedFrame(into: buffer, opcode: opcode, fin: true, payload: source, maskKey: maskKey)
            }
        }
        return frame
    }
}
