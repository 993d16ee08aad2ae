// Client-to-server masking (RFC 6455 section 5.3): payload byte i is XORed with mask byte
// i % 4. Masking and unmasking are the same operation.
//
// The key is kept as a UInt32 whose low byte applies to the next payload byte (the four
// key bytes as they sit in memory, read little-endian). Eight payload bytes at a time are
// XORed with the key repeated twice; since 8 is a multiple of 4 the key keeps its phase
// across words, and only the tail (fewer than 8 bytes) rotates it. The rotated key is
// returned so a frame split across buffers resumes at the right phase without storing
// a separate phase counter.

@usableFromInline
enum Masking {
    /// Reads a mask key from its four wire bytes at `pointer`.
    @inlinable
    static func key(at pointer: UnsafeRawPointer) -> UInt32 {
        UInt32(littleEndian: pointer.loadUnaligned(as: UInt32.self))
    }

    /// Converts a key given as a big-endian number (wire order: the most significant byte
    /// masks payload byte 0) to the internal form.
    @inlinable
    static func key(wireOrder maskKey: UInt32) -> UInt32 {
        maskKey.byteSwapped
    }

    /// XORs `count` bytes at `pointer` in place with `key`, eight bytes per step.
    /// - Returns: the key rotated to the phase of the byte after the last one.
    @inlinable
    static func apply(_ pointer: UnsafeMutableRawPointer, count: Int, key: UInt32) -> UInt32 {
        let wide = UInt64(key) | UInt64(key) << 32
        var offset = 0
        // Four words per round lets the compiler keep the loop body branch-free and wide.
        while offset + 32 <= count {
            xorWord(pointer, offset, wide)
            xorWord(pointer, offset + 8, wide)
            xorWord(pointer, offset + 16, wide)
            xorWord(pointer, offset + 24, wide)
            offset += 32
        }
        while offset + 8 <= count {
            xorWord(pointer, offset, wide)
            offset += 8
        }
        var rotating = key
        while offset < count {
            let byte = pointer.load(fromByteOffset: offset, as: UInt8.self)
            pointer.storeBytes(of: byte ^ UInt8(truncatingIfNeeded: rotating), toByteOffset: offset, as: UInt8.self)
            rotating = rotating >> 8 | rotating << 24
            offset += 1
        }
        return rotating
    }

    @inlinable @inline(__always)
    static func xorWord(_ pointer: UnsafeMutableRawPointer, _ offset: Int, _ wide: UInt64) {
        // Little-endian view so that the key's low byte meets the lowest-addressed byte on
        // any host; on x86-64 and arm64 the conversions compile to nothing.
        let word = UInt64(littleEndian: pointer.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        pointer.storeBytes(of: (word ^ wide).littleEndian, toByteOffset: offset, as: UInt64.self)
    }
}
