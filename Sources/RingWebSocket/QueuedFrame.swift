// Reading back a frame the gateway itself encoded, from its first bytes: how long it is, and
// whether a send queue may drop it for a client that does not keep up. Only a whole data
// message may go (FIN set, text or binary): dropping a fragment would break its message, and
// a control frame (pong, close) is owed to the peer (RFC 6455 sections 5.4 and 5.5).

/// A frame waiting in a send queue, as its header describes it.
public struct QueuedFrame: Sendable, Equatable {
    /// Header and payload, in bytes.
    public var totalBytes: Int
    /// A whole text or binary message: dropping it loses a message, never part of one.
    public var isWholeDataMessage: Bool

    public init(totalBytes: Int, isWholeDataMessage: Bool) {
        self.totalBytes = totalBytes
        self.isWholeDataMessage = isWholeDataMessage
    }

    /// Reads the header at the start of `head`; nil when `head` is too short to hold it, or
    /// the header is not one a server writes (masked, reserved bits, a length past 2^63).
    public static func measure(_ head: UnsafeRawBufferPointer) -> QueuedFrame? {
        guard head.count >= 2 else { return nil }
        let first = head[0], second = head[1]
        guard first & 0x70 == 0, second & 0x80 == 0, let opcode = Opcode(rawValue: first & 0x0F) else { return nil }
        var headerBytes = 2
        var payloadBytes = UInt64(second & 0x7F)
        if payloadBytes == 126 {
            guard head.count >= 4 else { return nil }
            headerBytes = 4
            payloadBytes = UInt64(head[2]) << 8 | UInt64(head[3])
        } else if payloadBytes == 127 {
            guard head.count >= 10 else { return nil }
            headerBytes = 10
            payloadBytes = (2..<10).reduce(UInt64(0)) { $0 << 8 | UInt64(head[$1]) }
            guard payloadBytes < 1 << 62 else { return nil }
        }
        let whole = first & 0x80 != 0 && (opcode == .text || opcode == .binary)
        return QueuedFrame(totalBytes: headerBytes + Int(payloadBytes), isWholeDataMessage: whole)
    }
}
