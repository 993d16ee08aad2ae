/// Appends protocol frames to a reusable byte buffer. Each frame is begun,
/// filled with fields, and ended, which writes its length; the buffer keeps its
/// capacity across `reset`, so steady traffic allocates nothing.
public struct LinkWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// Frames ended since the last `reset` or `take`.
    public private(set) var frames = 0
    private var frameStart = -1

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public var count: Int { bytes.count }
    public var isEmpty: Bool { bytes.isEmpty }

    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        frames = 0
    }

    /// Starts a frame of `type`; fields follow, then `end()`.
    public mutating func begin(_ type: UInt8) {
        precondition(frameStart < 0, "frame already open")
        frameStart = bytes.count
        u32(0)
        u8(type)
    }

    public mutating func end() {
        precondition(frameStart >= 0, "no frame open")
        let length = UInt32(bytes.count - frameStart - 4)
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: length.littleEndian, toByteOffset: frameStart, as: UInt32.self)
        }
        frameStart = -1
        frames += 1
    }

    /// Drops the frame begun last (a field did not fit).
    public mutating func abandon() {
        guard frameStart >= 0 else { return }
        bytes.removeSubrange(frameStart...)
        frameStart = -1
    }

    public mutating func u8(_ value: UInt8) { bytes.append(value) }

    public mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
    }

    public mutating func u32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func u64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A u16 count and the bytes; longer input is cut at 65535 bytes.
    public mutating func str16(_ raw: UnsafeRawBufferPointer) {
        let count = min(raw.count, Int(UInt16.max))
        u16(UInt16(count))
        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[..<count]))
    }

    public mutating func str16(_ text: String) {
        var text = text
        text.withUTF8 { str16(UnsafeRawBufferPointer($0)) }
    }

    public mutating func raw(_ raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }

    public mutating func raw(_ text: String) { bytes.append(contentsOf: text.utf8) }

    public mutating func raw(_ array: [UInt8]) { bytes.append(contentsOf: array) }

    /// Moves the written bytes out, leaving the writer empty.
    public mutating func take() -> [UInt8] {
        defer {
            bytes = []
            frames = 0
        }
        return bytes
    }
}
