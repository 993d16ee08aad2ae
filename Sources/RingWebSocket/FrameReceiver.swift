// Per-connection RFC 6455 frame parser, server side. Sans-IO: the owner feeds each receive
// buffer; the receiver unmasks payloads in place inside that buffer and reports through a
// FrameHandler. Frames, and frame headers, may be split anywhere across calls.
//
// Life of a frame:
//   header phase   the 2-14 header bytes are decoded straight from the buffer; if the buffer
//                  ends inside a header, what arrived waits in a 14-byte spill inside the
//                  receiver (no heap).
//   whole frame    a single-frame message, or a control frame, whose payload is all in the
//                  buffer is unmasked in place and handed over as a view of the buffer.
//   payload phase  otherwise the payload streams through `appendPartial` chunk by chunk, and
//                  the reassembled bytes are delivered when the last fragment completes.
//
// Byte budget (MemoryLayout<FrameReceiver>.size == 29, stride 32; asserted in the tests):
//   words          16  header phase: the spill (header bytes received so far)
//                      payload phase: .0 payload bytes left in the frame, .1 rotated mask key
//                      failed: .0 the ProtocolViolation raw value
//   messageBytes    8  bytes of the data message in progress, over all its fragments
//   spillCount      1  header bytes in the spill
//   phase           1  header / payload / closed / failed
//   frameBits       1  opcode of the frame in payload phase (low nibble), FIN (0x80)
//   messageOpcode   1  1 text, 2 binary, 0 none in progress
//   utf8            1  DFA state of the text message in progress
// The spill and the payload state share `words` because a receiver is never in both phases.
// An idle receiver owns no buffer: reassembly storage belongs to the handler and is reset
// after every message.

/// The framing state of one WebSocket connection, server side.
///
/// Keep one per connection (for example in a slot-indexed array), start it with `init()`
/// right after the handshake, and pass every received byte to `receive`, in order,
/// starting with the bytes that followed the upgrade request in its last buffer.
///
/// A plain value with no references (`BitwiseCopyable`), and all-zero bytes are the same
/// state as `init()`, so a table of receivers may be zero-filled memory.
public struct FrameReceiver: BitwiseCopyable {
    /// The first case must stay `header`: zeroed memory is a fresh receiver.
    @usableFromInline
    enum Phase: UInt8, BitwiseCopyable {
        case header, payload, closed, failed
    }

    /// See the byte budget in the file comment. 16 bytes.
    @usableFromInline var words: (UInt64, UInt64)
    /// 8 bytes.
    @usableFromInline var messageBytes: UInt64
    /// 1 byte.
    @usableFromInline var spillCount: UInt8
    /// 1 byte.
    @usableFromInline var phase: Phase
    /// 1 byte.
    @usableFromInline var frameBits: UInt8
    /// 1 byte.
    @usableFromInline var messageOpcode: UInt8
    /// 1 byte.
    @usableFromInline var utf8: UTF8Validator

    /// A receiver waiting for the first frame header.
    @inlinable
    public init() {
        words = (0, 0)
        messageBytes = 0
        spillCount = 0
        phase = .header
        frameBits = 0
        messageOpcode = 0
        utf8 = UTF8Validator()
    }

    /// Parses `buffer`, unmasking payloads in place and reporting to `handler`.
    ///
    /// - Parameters:
    ///   - buffer: the next received bytes. The receiver overwrites masked payload bytes
    ///     with their unmasked values; views passed to the handler point into it.
    ///   - limits: the limits for this connection.
    ///   - handler: receives messages, control frames and reassembly requests.
    /// - Returns: `.ok`, or `.fail(code)` when the peer broke the protocol; the connection
    ///   is then dead and the owner should send a close frame with `code` (see
    ///   `violation` for the reason) and shut it down. Later calls return the same failure.
    ///   After a close frame has been delivered, further bytes are ignored (the peer must
    ///   not send any, RFC 6455 section 5.5.1).
    @inlinable
    public mutating func receive<H: FrameHandler>(
        _ buffer: UnsafeMutableRawBufferPointer, limits: FrameLimits, handler: inout H
    ) -> ReceiveOutcome {
        switch phase {
        case .failed: return .fail(violation?.closeCode ?? .protocolError)
        case .closed: return .ok
        case .header, .payload: break
        }
        guard let base = buffer.baseAddress else { return .ok }
        let count = buffer.count
        var offset = 0
        while offset < count {
            let problem = phase == .header
                ? readHeader(base, count, &offset, limits, &handler)
                : readPayload(base, count, &offset, &handler)
            if let problem {
                return fail(problem, &handler)
            }
            if phase == .closed { break }
        }
        return .ok
    }

    /// Why the receiver failed, or nil while it has not.
    @inlinable
    public var violation: ProtocolViolation? {
        phase == .failed ? ProtocolViolation(rawValue: UInt8(truncatingIfNeeded: words.0)) : nil
    }

    /// True once a valid close frame has been delivered.
    @inlinable
    public var hasReceivedClose: Bool { phase == .closed }

    /// True between frames with no message in progress: the receiver holds no partial
    /// header and the handler holds no reassembly bytes for it.
    @inlinable
    public var isIdle: Bool { phase == .header && spillCount == 0 && messageOpcode == 0 }

    @inlinable
    mutating func fail<H: FrameHandler>(_ problem: ProtocolViolation, _ handler: inout H) -> ReceiveOutcome {
        phase = .failed
        words = (UInt64(problem.rawValue), 0)
        messageBytes = 0
        messageOpcode = 0
        handler.resetPartial(control: false)
        handler.resetPartial(control: true)
        return .fail(problem.closeCode)
    }
}

/// A loop-confined value: one worker owns each connection's receiver.
@available(*, unavailable)
extension FrameReceiver: Sendable {}

/// The result of `FrameReceiver.receive`.
public enum ReceiveOutcome: Sendable, Hashable {
    /// Everything in the buffer was consumed; keep going.
    case ok
    /// The peer broke the protocol; close with this code.
    case fail(CloseCode)
}
