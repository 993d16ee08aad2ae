/// Why a link could not be opened, why it ended, or why a command was refused before sending.
public enum BackendLinkError: Error, Sendable, Equatable {
    /// `socket` or `connect` failed with this errno (ENOENT: no gateway at the path yet).
    case connectFailed(errno: Int32)
    /// The socket path does not fit a `sockaddr_un`.
    case socketPathTooLong
    /// The gateway's first frame was not a HELLO this SDK speaks.
    case handshake(String)
    /// The gateway sent ERROR (`LinkErrorCode`) and closed the link.
    case gateway(code: UInt16, message: String)
    /// The gateway sent bytes that break the protocol; the SDK closed the link.
    case protocolViolation(String)
    /// Reading or writing the socket failed with this errno.
    case io(errno: Int32)
    /// The link is closed (by the gateway or by `disconnect()`); nothing more can be sent.
    case linkClosed
    /// A command argument the protocol cannot carry (topic length, status range, frame size).
    case invalidArgument(String)
}
