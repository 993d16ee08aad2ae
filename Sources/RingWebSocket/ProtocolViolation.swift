// Every way a client can break RFC 6455 framing, and the one mapping from each to a close
// code. The gateway counts violations by case and closes with `closeCode` and the constant
// `closeReason`, so a hostile peer never makes us build a string.

/// A framing rule broken by the peer, detected by `FrameReceiver`.
public enum ProtocolViolation: UInt8, Sendable, Hashable, CaseIterable {
    /// A client frame without the mask bit (RFC 6455 section 5.1).
    case unmaskedFrame = 1
    /// RSV1-3 set while no extension was negotiated (section 5.2).
    case reservedBitsSet
    /// Opcode 3-7 or 0xB-0xF (section 5.2).
    case unknownOpcode
    /// A control frame with a payload longer than 125 bytes (section 5.5).
    case controlFrameTooLong
    /// A control frame without FIN (section 5.5).
    case fragmentedControlFrame
    /// A continuation frame while no fragmented message is in progress (section 5.4).
    case unexpectedContinuation
    /// A text or binary frame while a fragmented message is still in progress (section 5.4).
    case dataFrameInsideMessage
    /// A 64-bit payload length with the most significant bit set (section 5.2).
    case lengthTopBitSet
    /// A close frame whose payload is exactly one byte (section 5.5.1).
    case closePayloadTooShort
    /// A close frame carrying a code that may not be sent (section 7.4).
    case invalidCloseCode
    /// A text message that is not valid UTF-8 (section 8.1).
    case invalidUTF8
    /// A close reason that is not valid UTF-8 (section 5.5.1).
    case invalidCloseReasonUTF8
    /// A message declared longer than `FrameLimits.maxMessageBytes` (section 10.4).
    case messageTooBig
    /// The handler could not grow the data reassembly storage.
    case messageStorageExhausted
    /// The handler could not grow the control frame reassembly storage.
    case controlStorageExhausted

    /// The close code to send for this violation.
    @inlinable
    public var closeCode: CloseCode {
        switch self {
        case .unmaskedFrame, .reservedBitsSet, .unknownOpcode, .controlFrameTooLong,
             .fragmentedControlFrame, .unexpectedContinuation, .dataFrameInsideMessage,
             .lengthTopBitSet, .closePayloadTooShort, .invalidCloseCode:
            return .protocolError
        case .invalidUTF8, .invalidCloseReasonUTF8:
            return .invalidFramePayloadData
        case .messageTooBig, .messageStorageExhausted:
            return .messageTooBig
        case .controlStorageExhausted:
            return .internalError
        }
    }

    /// A short constant reason for the close frame (well under the 123 bytes a close reason
    /// may hold).
    public var closeReason: StaticString {
        switch self {
        case .unmaskedFrame: return "unmasked frame"
        case .reservedBitsSet: return "reserved bits set"
        case .unknownOpcode: return "unknown opcode"
        case .controlFrameTooLong: return "control frame too long"
        case .fragmentedControlFrame: return "fragmented control frame"
        case .unexpectedContinuation: return "unexpected continuation"
        case .dataFrameInsideMessage: return "data frame inside message"
        case .lengthTopBitSet: return "invalid length"
        case .closePayloadTooShort: return "close payload too short"
        case .invalidCloseCode: return "invalid close code"
        case .invalidUTF8: return "invalid utf-8"
        case .invalidCloseReasonUTF8: return "invalid utf-8 in close reason"
        case .messageTooBig: return "message too big"
        case .messageStorageExhausted: return "message too big"
        case .controlStorageExhausted: return "internal error"
        }
    }
}
