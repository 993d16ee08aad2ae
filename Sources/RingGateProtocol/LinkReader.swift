/// Reads the fields of one frame body in order. Every read checks the bounds,
/// so a short or lying body is reported as malformed instead of read past.
public struct LinkReader {
    public let body: UnsafeRawBufferPointer
    public private(set) var offset = 0

    public init(_ body: UnsafeRawBufferPointer) { self.body = body }

    public var remaining: Int { body.count - offset }

    public mutating func u8() throws(LinkMalformed) -> UInt8 {
        guard remaining >= 1 else { throw LinkMalformed() }
        defer { offset += 1 }
        return body[offset]
    }

    public mutating func u16() throws(LinkMalformed) -> UInt16 {
        guard remaining >= 2 else { throw LinkMalformed() }
        defer { offset += 2 }
        return UInt16(body[offset]) | UInt16(body[offset + 1]) << 8
    }

    public mutating func u32() throws(LinkMalformed) -> UInt32 {
        guard remaining >= 4 else { throw LinkMalformed() }
        defer { offset += 4 }
        return UInt32(littleEndian: body.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    public mutating func u64() throws(LinkMalformed) -> UInt64 {
        guard remaining >= 8 else { throw LinkMalformed() }
        defer { offset += 8 }
        return UInt64(littleEndian: body.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// A u16-counted byte string, as a view into the body.
    public mutating func str16() throws(LinkMalformed) -> UnsafeRawBufferPointer {
        let count = Int(try u16())
        return try bytes(count)
    }

    public mutating func string16() throws(LinkMalformed) -> String {
        String(decoding: try str16(), as: UTF8.self)
    }

    public mutating func bytes(_ count: Int) throws(LinkMalformed) -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else { throw LinkMalformed() }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: body[offset..<offset + count])
    }

    /// Everything not read yet.
    public mutating func rest() -> UnsafeRawBufferPointer {
        defer { offset = body.count }
        return UnsafeRawBufferPointer(rebasing: body[offset...])
    }
}

/// A frame body shorter than its fields, or with a count that runs past its end.
public struct LinkMalformed: Error, Sendable {
    public init() {}
}

/// Where the next frame of a byte stream stands.
public enum LinkFrameScan {
    /// A whole frame: its type, body, and the bytes it takes in the stream.
    case frame(type: UInt8, body: UnsafeRawBufferPointer, size: Int)
    /// Not all of it has arrived yet.
    case needMore
    /// The length field is 0 or above the limit: the stream cannot be trusted.
    case invalidLength(UInt32)

    /// Looks at the start of `bytes`.
    public static func next(in bytes: UnsafeRawBufferPointer, maxFrame: UInt32) -> LinkFrameScan {
        guard bytes.count >= 4 else { return .needMore }
        let length = UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self))
        guard length >= 1, length <= maxFrame else { return .invalidLength(length) }
        let size = 4 + Int(length)
        guard bytes.count >= size else { return .needMore }
        return .frame(type: bytes[4], body: UnsafeRawBufferPointer(rebasing: bytes[5..<size]), size: size)
    }
}
