// What a FrameReceiver calls while it parses. The owner (the gateway, a test, the fuzzer)
// implements it as a concrete type, and `receive` is generic over it, so every call is
// specialized and none goes through an existential.

/// Receives the events of one connection, and lends the reassembly storage for messages
/// that do not arrive in one piece.
///
/// Pointers handed to these methods are valid only for the duration of the call. A handler
/// must not call back into the `FrameReceiver` that is calling it.
public protocol FrameHandler {
    /// A complete data message. For a single-frame message that lies wholly inside the
    /// received buffer, `payload` points into that buffer (zero copy); otherwise it is the
    /// handler's own data storage, as returned by `partial(control: false)`. Text has been
    /// validated as UTF-8.
    mutating func message(_ kind: MessageKind, _ payload: UnsafeRawBufferPointer)

    /// A ping with its payload (at most 125 bytes). Answering with a pong is the owner's job.
    mutating func ping(_ payload: UnsafeRawBufferPointer)

    /// A pong with its payload (at most 125 bytes).
    mutating func pong(_ payload: UnsafeRawBufferPointer)

    /// A valid close frame. `code` is nil when the frame had no payload; `reason` is valid
    /// UTF-8 and may be empty. After this the receiver ignores every further byte.
    mutating func close(code: UInt16?, reason: UnsafeRawBufferPointer)

    /// Appends unmasked bytes to the reassembly storage for a data message
    /// (`control == false`) or for a control frame (`control == true`). The two stores are
    /// separate because a control frame may arrive between the fragments of a data message.
    /// - Returns: false when the storage cannot grow; the receiver then fails with 1009
    ///   (data) or 1011 (control).
    mutating func appendPartial(_ bytes: UnsafeRawBufferPointer, control: Bool) -> Bool

    /// The bytes appended to a store so far, contiguous. The receiver asks once the message
    /// or control frame is complete.
    mutating func partial(control: Bool) -> UnsafeRawBufferPointer

    /// Empties a store; the handler may release its memory. Called after each reassembled
    /// message or control frame has been delivered, and for both stores when the receiver
    /// fails.
    mutating func resetPartial(control: Bool)
}
