// Frame headers and small control frames (RFC 6455 section 5.2), written into memory the
// caller owns.
//
// Server frames are never masked (section 5.1) and use the shortest length encoding, so a
// header is 2, 4 or 10 bytes; the gateway keeps `maxHeaderSize` bytes of headroom in front
// of each payload and writes the header right before it, with no copy of the payload.
// Client frames (for the load generator) add a 4-byte mask key: up to 14 bytes.

/// Writes WebSocket frames.
public enum FrameEncoder {
    /// Largest unmasked (server) header: 2 + 8 bytes.
    public static let maxHeaderSize = 10
    /// Largest masked (client) header: 2 + 8 + 4 bytes.
    public static let maxMaskedHeaderSize = 14
    /// Largest control frame payload (section 5.5).
    public static let maxControlPayload = 125

    /// Size of an unmasked header for a payload of `payloadLength` bytes: 2, 4 or 10.
    @inlinable
    public static func headerSize(payloadLength: Int) -> Int {
        payloadLength < 126 ? 2 : payloadLength <= 0xFFFF ? 4 : 10
    }

    /// Writes an unmasked header.
    /// - Parameters:
    ///   - pointer: where the header starts; `headerSize(payloadLength:)` bytes must be
    ///     writable there. To place it in front of a payload at `p`, pass
    ///     `p - headerSize(payloadLength:)`.
    ///   - opcode: the frame opcode.
    ///   - fin: whether this is the last frame of its message (always true for control).
    ///   - payloadLength: the payload size in bytes, not negative.
    /// - Returns: the number of bytes written.
    @inlinable
    @discardableResult
    public static func writeHeader(
        into pointer: UnsafeMutableRawPointer, opcode: Opcode, fin: Bool, payloadLength: Int
    ) -> Int {
        writeHeader(pointer, opcode, fin, payloadLength, maskBit: 0)
    }

    /// Size of a masked (client) header: `headerSize(payloadLength:) + 4`.
    @inlinable
    public static func maskedHeaderSize(payloadLength: Int) -> Int {
        headerSize(payloadLength: payloadLength) + 4
    }

    /// Writes a masked (client) header.
    /// - Parameters:
    ///   - maskKey: the key in wire order: its most significant byte masks payload byte 0.
    ///   - Other parameters as in `writeHeader(into:opcode:fin:payloadLength:)`.
    /// - Returns: the number of bytes written, `maskedHeaderSize(payloadLength:)`.
    @inlinable
    @discardableResult
    public static func writeMaskedHeader(
        into pointer: UnsafeMutableRawPointer, opcode: Opcode, fin: Bool, payloadLength: Int,
        maskKey: UInt32
    ) -> Int {
        let size = writeHeader(pointer, opcode, fin, payloadLength, maskBit: 0x80)
        pointer.storeBytes(of: maskKey.bigEndian, toByteOffset: size, as: UInt32.self)
        return size + 4
    }

    /// Masks (or unmasks) `payload` in place with `maskKey` (wire order), eight bytes per step.
    @inlinable
    public static func mask(_ payload: UnsafeMutableRawBufferPointer, maskKey: UInt32) {
        guard let base = payload.baseAddress else { return }
        _ = Masking.apply(base, count: payload.count, key: Masking.key(wireOrder: maskKey))
    }

    /// Writes a complete masked client frame: header, then `payload` copied and masked.
    /// - Parameter buffer: must hold `maskedHeaderSize(payloadLength:) + payload.count` bytes.
    /// - Returns: the number of bytes written.
    @inlinable
    @discardableResult
    public static func writeMaskedFrame(
        into buffer: UnsafeMutableRawBufferPointer, opcode: Opcode, fin: Bool,
        payload: UnsafeRawBufferPointer, maskKey: UInt32
    ) -> Int {
        let total = maskedHeaderSize(payloadLength: payload.count) + payload.count
        precondition(buffer.count >= total, "buffer too small for the frame")
        let base = buffer.baseAddress!
        let size = writeMaskedHeader(into: base, opcode: opcode, fin: fin, payloadLength: payload.count, maskKey: maskKey)
        if let source = payload.baseAddress {
            (base + size).copyMemory(from: source, byteCount: payload.count)
        }
        mask(UnsafeMutableRawBufferPointer(start: base + size, count: payload.count), maskKey: maskKey)
        return total
    }

    /// Writes an unmasked close frame.
    /// - Parameters:
    ///   - buffer: must hold 2 bytes, plus 2 + `reason.count` when `code` is given.
    ///   - code: the status code, or nil for an empty close frame.
    ///   - reason: UTF-8 text of at most 123 bytes; ignored when `code` is nil.
    /// - Returns: the number of bytes written.
    @discardableResult
    public static func writeClose(
        into buffer: UnsafeMutableRawBufferPointer, code: UInt16?, reason: UnsafeRawBufferPointer
    ) -> Int {
        guard let code else {
            return writeControl(into: buffer, opcode: .close, payload: UnsafeRawBufferPointer(start: nil, count: 0))
        }
        precondition(reason.count <= maxControlPayload - 2, "close reason longer than 123 bytes")
        let length = 2 + reason.count
        precondition(buffer.count >= 2 + length, "buffer too small for the close frame")
        let base = buffer.baseAddress!
        let size = writeHeader(into: base, opcode: .close, fin: true, payloadLength: length)
        base.storeBytes(of: code.bigEndian, toByteOffset: size, as: UInt16.self)
        if let source = reason.baseAddress {
            (base + size + 2).copyMemory(from: source, byteCount: reason.count)
        }
        return size + length
    }

    /// Writes an unmasked close frame for a violation detected by `FrameReceiver`: its close
    /// code and constant reason.
    /// - Parameter buffer: must hold 2 + 125 bytes.
    /// - Returns: the number of bytes written.
    @discardableResult
    public static func writeClose(into buffer: UnsafeMutableRawBufferPointer, for violation: ProtocolViolation) -> Int {
        let reason = violation.closeReason
        return writeClose(
            into: buffer, code: violation.closeCode.rawValue,
            reason: UnsafeRawBufferPointer(start: reason.utf8Start, count: reason.utf8CodeUnitCount)
        )
    }

    /// Writes an unmasked pong echoing a ping's payload (section 5.5.3).
    /// - Parameter buffer: must hold 2 + `payload.count` bytes; `payload` is at most 125 bytes.
    /// - Returns: the number of bytes written.
    @discardableResult
    public static func writePong(into buffer: UnsafeMutableRawBufferPointer, payload: UnsafeRawBufferPointer) -> Int {
        writeControl(into: buffer, opcode: .pong, payload: payload)
    }

    /// Writes an unmasked control frame with a payload of at most 125 bytes.
    @discardableResult
    public static func writeControl(
        into buffer: UnsafeMutableRawBufferPointer, opcode: Opcode, payload: UnsafeRawBufferPointer
    ) -> Int {
        precondition(opcode.isControl, "not a control opcode")
        precondition(payload.count <= maxControlPayload, "control payload longer than 125 bytes")
        precondition(buffer.count >= 2 + payload.count, "buffer too small for the control frame")
        let base = buffer.baseAddress!
        let size = writeHeader(into: base, opcode: opcode, fin: true, payloadLength: payload.count)
        if let source = payload.baseAddress {
            (base + size).copyMemory(from: source, byteCount: payload.count)
        }
        return size + payload.count
    }

    @inlinable
    static func writeHeader(
        _ pointer: UnsafeMutableRawPointer, _ opcode: Opcode, _ fin: Bool, _ payloadLength: Int, maskBit: UInt8
    ) -> Int {
        precondition(payloadLength >= 0, "negative payload length")
        pointer.storeBytes(of: opcode.rawValue | (fin ? 0x80 : 0), as: UInt8.self)
        if payloadLength < 126 {
            pointer.storeBytes(of: UInt8(payloadLength) | maskBit, toByteOffset: 1, as: UInt8.self)
            return 2
        }
        if payloadLength <= 0xFFFF {
            pointer.storeBytes(of: 126 | maskBit, toByteOffset: 1, as: UInt8.self)
            pointer.storeBytes(of: UInt16(payloadLength).bigEndian, toByteOffset: 2, as: UInt16.self)
            return 4
        }
        pointer.storeBytes(of: 127 | maskBit, toByteOffset: 1, as: UInt8.self)
        pointer.storeBytes(of: UInt64(payloadLength).bigEndian, toByteOffset: 2, as: UInt64.self)
        return 10
    }
}
