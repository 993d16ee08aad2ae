// Why an upgrade request was refused, and the one mapping from each reason to an HTTP status.

/// A refused request head. The owner answers with `HandshakeResponse.rejection(_:)` and
/// closes the connection.
public enum HandshakeRejection: UInt8, Error, Sendable, Hashable, CaseIterable {
    /// 400: the request line or a header field is not valid HTTP/1.1 (including bare CR,
    /// bare LF, obs-fold line folding, and a target that is not origin-form).
    case malformed
    /// 505: a well-formed request for an HTTP version other than 1.1.
    case httpVersionNotSupported
    /// 431: the head is longer than `HandshakePolicy.maxHeaderBytes`.
    case headTooLarge
    /// 405: a method other than GET.
    case methodNotAllowed
    /// 400: no `Host`, or more than one (RFC 7230 section 5.4).
    case missingHost
    /// 400: a GET that announces a body (`Content-Length` above 0, or `Transfer-Encoding`).
    case bodyNotAllowed
    /// 400: a WebSocket request whose `Upgrade` lacks the `websocket` token.
    case missingUpgradeToken
    /// 400: a WebSocket request whose `Connection` lacks the `upgrade` token.
    case missingConnectionToken
    /// 426: `Sec-WebSocket-Version` missing or not 13 (RFC 6455 section 4.4).
    case unsupportedVersion
    /// 400: `Sec-WebSocket-Key` missing, repeated, or not base64 of 16 bytes.
    case invalidKey
    /// 403: the `Origin` is not allowed, or is missing while required.
    case originNotAllowed
    /// 400: `Origin` or `Sec-WebSocket-Version` given more than once in an upgrade.
    case duplicateField

    /// The HTTP status code to answer with.
    public var status: Int {
        switch self {
        case .malformed, .missingHost, .bodyNotAllowed, .missingUpgradeToken,
             .missingConnectionToken, .invalidKey, .duplicateField:
            return 400
        case .originNotAllowed: return 403
        case .methodNotAllowed: return 405
        case .unsupportedVersion: return 426
        case .headTooLarge: return 431
        case .httpVersionNotSupported: return 505
        }
    }

    /// The standard reason phrase for `status`.
    public var reasonPhrase: String {
        switch status {
        case 400: return "Bad Request"
        case 403: return "Forbidden"
        case 405: return "Method Not Allowed"
        case 426: return "Upgrade Required"
        case 431: return "Request Header Fields Too Large"
        default: return "HTTP Version Not Supported"
        }
    }

    /// A one-line explanation sent as the response body.
    public var detail: String {
        switch self {
        case .malformed: return "malformed request"
        case .httpVersionNotSupported: return "only HTTP/1.1 is supported"
        case .headTooLarge: return "request head too large"
        case .methodNotAllowed: return "only GET is allowed"
        case .missingHost: return "exactly one Host header is required"
        case .bodyNotAllowed: return "a GET request must not carry a body"
        case .missingUpgradeToken: return "Upgrade must include websocket"
        case .missingConnectionToken: return "Connection must include upgrade"
        case .unsupportedVersion: return "Sec-WebSocket-Version must be 13"
        case .invalidKey: return "Sec-WebSocket-Key must be base64 of 16 bytes"
        case .originNotAllowed: return "origin not allowed"
        case .duplicateField: return "Origin and Sec-WebSocket-Version may each appear once"
        }
    }
}
