// Frame opcodes (RFC 6455 section 5.2) and the two kinds of data message.

/// The 4-bit frame opcode.
public enum Opcode: UInt8, Sendable, Hashable {
    /// 0x0: continues a fragmented message.
    case continuation = 0x0
    /// 0x1: first frame of a text message.
    case text = 0x1
    /// 0x2: first frame of a binary message.
    case binary = 0x2
    /// 0x8: close.
    case close = 0x8
    /// 0x9: ping.
    case ping = 0x9
    /// 0xA: pong.
    case pong = 0xA

    /// Control opcodes have the high bit of the nibble set (section 5.5).
    @inlinable
    public var isControl: Bool { rawValue & 0x8 != 0 }
}

/// The kind of a complete data message.
public enum MessageKind: UInt8, Sendable, Hashable {
    /// UTF-8 text, already validated.
    case text = 0x1
    /// Arbitrary bytes.
    case binary = 0x2
}
