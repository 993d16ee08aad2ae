// Incremental UTF-8 validation (RFC 3629 section 4) for text messages whose bytes arrive in
// pieces: fragments, buffer splits, or both. The whole state is one byte, the DFA state, so
// it fits in FrameReceiver's budget and resumes mid-sequence.
//
// States (what the next byte must be):
//   0 accept: any lead byte or ASCII
//   1 one more continuation 80-BF          2 two more        3 three more
//   4 after E0: A0-BF (no overlongs)       5 after ED: 80-9F (no surrogates D800-DFFF)
//   6 after F0: 90-BF (no overlongs)       7 after F4: 80-8F (nothing above U+10FFFF)
//   8 reject (sticky)
// C0, C1 and F5-FF can never appear. Runs of ASCII are skipped eight bytes at a time while
// the state is 0, which is most of real traffic.

@usableFromInline
struct UTF8Validator: Hashable, BitwiseCopyable {
    @usableFromInline static let reject: UInt8 = 8

    /// The DFA state, 0 to 8 (see the file comment). 1 byte.
    @usableFromInline var state: UInt8

    @inlinable
    init() { state = 0 }

    /// True when the bytes so far end on a character boundary.
    @inlinable
    var isComplete: Bool { state == 0 }

    /// Feeds more bytes of the same text.
    /// - Returns: false as soon as a byte cannot continue valid UTF-8; the state then stays
    ///   rejected.
    @inlinable
    mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return state != Self.reject }
        let count = bytes.count
        var offset = 0
        var current = state
        while offset < count {
            if current == 0 {
                while offset + 8 <= count,
                      base.loadUnaligned(fromByteOffset: offset, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    offset += 8
                }
                if offset == count { break }
            }
            current = Self.step(current, base.load(fromByteOffset: offset, as: UInt8.self))
            if current == Self.reject {
                state = current
                return false
            }
            offset += 1
        }
        state = current
        return true
    }

    /// One DFA transition.
    @inlinable
    static func step(_ state: UInt8, _ byte: UInt8) -> UInt8 {
        switch state {
        case 0:
            switch byte {
            case 0x00...0x7F: return 0
            case 0xC2...0xDF: return 1
            case 0xE0: return 4
            case 0xED: return 5
            case 0xE1...0xEF: return 2
            case 0xF0: return 6
            case 0xF1...0xF3: return 3
            case 0xF4: return 7
            default: return reject
            }
        case 1, 2, 3:
            return byte & 0xC0 == 0x80 ? state - 1 : reject
        case 4:
            return (0xA0...0xBF).contains(byte) ? 1 : reject
        case 5:
            return (0x80...0x9F).contains(byte) ? 1 : reject
        case 6:
            return (0x90...0xBF).contains(byte) ? 2 : reject
        case 7:
            return (0x80...0x8F).contains(byte) ? 2 : reject
        default:
            return reject
        }
    }
}
