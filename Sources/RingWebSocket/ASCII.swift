// Byte classes and comparisons from the HTTP grammar (RFC 7230 sections 3.2 and 3.2.6),
// on raw bytes so the head is never decoded into a String just to be inspected.

enum ASCII {
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")

    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// `VCHAR`: 0x21-0x7E.
    static func isVisible(_ byte: UInt8) -> Bool {
        byte >= 0x21 && byte <= 0x7E
    }

    /// `tchar`: letters, digits and ``!#$%&'*+-.^_`|~``.
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// `field-vchar / SP / HTAB`, where field-vchar includes obs-text (0x80-0xFF).
    static func isFieldValueCharacter(_ byte: UInt8) -> Bool {
        byte == space || byte == tab || (byte >= 0x21 && byte != 0x7F)
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == space || byte == tab
    }

    /// `bytes` without leading and trailing SP and HTAB (OWS).
    static func trimmingWhitespace<C: BidirectionalCollection>(_ bytes: C) -> C.SubSequence where C.Element == UInt8 {
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, isWhitespace(bytes[start]) { start = bytes.index(after: start) }
        while end > start, isWhitespace(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
        return bytes[start..<end]
    }

    /// The non-empty elements of a comma-separated list (`#token`, RFC 7230 section 7),
    /// trimmed of OWS.
    static func tokens<C: BidirectionalCollection>(in list: C) -> [C.SubSequence]
    where C.Element == UInt8, C.SubSequence: BidirectionalCollection, C.SubSequence.SubSequence == C.SubSequence {
        list.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
            .map { trimmingWhitespace($0) }
            .filter { !$0.isEmpty }
    }

    /// Whether the comma-separated `list` holds `token` (ignoring ASCII case), without
    /// building the list.
    static func containsToken(_ list: Slice<UnsafeRawBufferPointer>, _ token: StaticString) -> Bool {
        var start = list.startIndex
        while start <= list.endIndex {
            var end = start
            while end < list.endIndex, list[end] != UInt8(ascii: ",") { end += 1 }
            if isName(trimmingWhitespace(list[start..<end]), token) { return true }
            start = end + 1
        }
        return false
    }

    /// Whether `bytes` equals `lowercase` ignoring ASCII case; `lowercase` must be lower-case.
    /// Lengths are compared first: most header names differ from most names looked for in length.
    static func equalsIgnoringCase<C: Collection>(_ bytes: C, _ lowercase: String) -> Bool where C.Element == UInt8 {
        guard bytes.count == lowercase.utf8.count else { return false }
        return bytes.elementsEqual(lowercase.utf8) { byte, expected in lowered(byte) == expected }
    }

    /// `equalsIgnoringCase` for the fixed names of the parser, without going through String.
    @inline(__always)
    static func isName(_ bytes: Slice<UnsafeRawBufferPointer>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        var index = 0
        for byte in UnsafeRawBufferPointer(rebasing: bytes) {
            guard lowered(byte) == expected[index] else { return false }
            index += 1
        }
        return true
    }

    @inline(__always)
    static func lowered(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}
