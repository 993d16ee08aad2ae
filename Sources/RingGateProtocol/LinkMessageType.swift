/// Frame types of the worker protocol (docs/PROTOCOL.md). Events go from the
/// gateway to a worker, commands from a worker to the gateway.
public enum LinkProtocol {
    public static let version: UInt16 = 1
    /// Length field plus type byte.
    public static let headerSize = 5
    /// Default largest frame: a 16 MiB message plus its fields.
    public static let defaultMaxFrame: UInt32 = (16 << 20) + 64
    public static let maxTopicBytes = 255
}

public enum LinkEvent: UInt8, Sendable {
    case hello = 0x01
    case open = 0x02
    case message = 0x03
    case closed = 0x04
    case flow = 0x05
    case gap = 0x06
    case presence = 0x07
    case error = 0x08
    case draining = 0x09
    /// A client subscribed itself to a topic (`--client-topics`).
    case subscribed = 0x0A
    /// A client unsubscribed itself from a topic.
    case unsubscribed = 0x0B
}

public enum LinkCommand: UInt8, Sendable {
    case hello = 0x81
    case accept = 0x82
    case reject = 0x83
    case send = 0x84
    case close = 0x85
    case subscribe = 0x86
    case unsubscribe = 0x87
    case publish = 0x88
    case broadcast = 0x89
    case sendMany = 0x8A
    case subscribeMany = 0x8B
    case presence = 0x8C
    case topic = 0x8D
}

/// OPEN flags.
public enum LinkOpenFlags {
    /// The client waits for ACCEPT or REJECT.
    public static let decide: UInt8 = 1 << 0
    /// Moved from a worker whose link failed; already open.
    public static let moved: UInt8 = 1 << 1
}

/// Payload kinds in MESSAGE, SEND, PUBLISH, BROADCAST, SEND_MANY.
public enum LinkPayloadKind: UInt8, Sendable {
    case text = 1
    case binary = 2
}

/// ERROR codes: why the gateway closes a link.
public enum LinkErrorCode: UInt16, Sendable {
    case unsupportedVersion = 1
    case frameTooLarge = 2
    case unknownType = 3
    case malformedBody = 4
    case unknownConnection = 5
    case helloExpected = 6
    /// No HELLO within the gateway's hello timeout, or a frame begun and not finished within its frame timeout.
    case timedOut = 7
}
