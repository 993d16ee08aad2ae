// Close status codes (RFC 6455 section 7.4) and the rule for which codes a peer may send.
//
// The enum names the codes this module itself produces or that have a registered meaning.
// Peers may also send application codes 3000-4999, which have no case here, so received
// codes travel as plain `UInt16` and are checked with `CloseCode.isValidOnWire(_:)`.

/// A WebSocket close status code (RFC 6455 section 7.4.1 and the IANA "WebSocket Close Code
/// Number Registry").
public enum CloseCode: UInt16, Sendable, Hashable {
    /// 1000: the purpose of the connection has been fulfilled.
    case normalClosure = 1000
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    case goingAway = 1001
    /// 1002: the peer broke the framing rules.
    case protocolError = 1002
    /// 1003: the endpoint cannot accept this kind of data.
    case unsupportedData = 1003
    /// 1005: reserved; stands for "no code in the close frame" and must never be sent.
    case noStatusReceived = 1005
    /// 1006: reserved; stands for "closed without a close frame" and must never be sent.
    case abnormalClosure = 1006
    /// 1007: a text message (or close reason) is not valid UTF-8.
    case invalidFramePayloadData = 1007
    /// 1008: a generic policy violation.
    case policyViolation = 1008
    /// 1009: a message is larger than the endpoint accepts.
    case messageTooBig = 1009
    /// 1010: the client expected an extension the server did not negotiate.
    case mandatoryExtension = 1010
    /// 1011: the server met an unexpected condition (for instance, out of reassembly storage).
    case internalError = 1011
    /// 1012: the service is restarting (IANA registry).
    case serviceRestart = 1012
    /// 1013: try again later (IANA registry).
    case tryAgainLater = 1013
    /// 1014: a gateway got an invalid response upstream (IANA registry).
    case badGateway = 1014
    /// 1015: reserved; stands for "TLS handshake failed" and must never be sent.
    case tlsHandshake = 1015

    /// Whether a peer may put `code` in a close frame.
    ///
    /// Valid are 1000-1003 and 1007-1014 (registered codes that may be sent) and 3000-4999
    /// (libraries and applications). Everything else is either reserved for local use
    /// (1004, 1005, 1006, 1015), unassigned in the 1000-2999 protocol range, or outside
    /// the defined ranges (below 1000, 5000 and up); RFC 6455 section 7.4.2.
    @inlinable
    public static func isValidOnWire(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: return true
        default: return false
        }
    }
}
