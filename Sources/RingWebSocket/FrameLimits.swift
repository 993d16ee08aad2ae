// Limits a receiver enforces on what a peer declares, before the bytes arrive.

/// Bounds applied by `FrameReceiver` to each connection.
public struct FrameLimits: Sendable, Hashable {
    /// Largest data message, summed over its fragments, in bytes. A frame header that would
    /// take the message past it fails the connection with 1009 at once (RFC 6455 section 10.4).
    public var maxMessageBytes: Int

    /// Creates limits.
    /// - Parameter maxMessageBytes: largest message in bytes; 16 MiB by default.
    public init(maxMessageBytes: Int = 16 << 20) {
        precondition(maxMessageBytes >= 0, "maxMessageBytes must not be negative")
        self.maxMessageBytes = maxMessageBytes
    }
}
