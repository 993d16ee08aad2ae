// Base64 (RFC 4648 section 4), just what the handshake needs: encoding the 20-byte SHA-1 for
// Sec-WebSocket-Accept, and strict decoding to check that Sec-WebSocket-Key is 16 bytes
// (RFC 6455 section 4.2.1, item 5).

enum Base64 {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Encodes with padding.
    static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index < input.count {
            let remaining = input.count - index
            let b0 = UInt32(input[index])
            let b1 = remaining > 1 ? UInt32(input[index + 1]) : 0
            let b2 = remaining > 2 ? UInt32(input[index + 2]) : 0
            let group = b0 << 16 | b1 << 8 | b2
            output.append(alphabet[Int(group >> 18 & 0x3F)])
            output.append(alphabet[Int(group >> 12 & 0x3F)])
            output.append(remaining > 1 ? alphabet[Int(group >> 6 & 0x3F)] : UInt8(ascii: "="))
            output.append(remaining > 2 ? alphabet[Int(group & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes padded base64, or returns nil for anything else: a length that is not a
    /// multiple of 4, characters outside the alphabet, misplaced padding, or non-zero bits
    /// after the last byte (a non-canonical encoding).
    static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        let input = Array(text)
        guard input.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let isLast = index + 4 == input.count
            let padding = isLast ? (input[index + 3] == UInt8(ascii: "=") ? (input[index + 2] == UInt8(ascii: "=") ? 2 : 1) : 0) : 0
            var group: UInt32 = 0
            for position in 0..<4 {
                let value: UInt32
                if position >= 4 - padding {
                    value = 0
                } else {
                    guard let sextet = sextet(input[index + position]) else { return nil }
                    value = sextet
                }
                group = group << 6 | value
            }
            output.append(UInt8(group >> 16 & 0xFF))
            if padding < 2 { output.append(UInt8(group >> 8 & 0xFF)) }
            if padding < 1 { output.append(UInt8(group & 0xFF)) }
            if padding == 2, group & 0xFFFF != 0 { return nil }
            if padding == 1, group & 0xFF != 0 { return nil }
            index += 4
        }
        return output
    }

    /// Whether `text` is the canonical padded encoding of exactly 16 bytes (a Sec-WebSocket-Key),
    /// checked without decoding into memory: 22 alphabet characters, the last carrying no bits
    /// past the 128th, then "==".
    static func isSixteenBytes(_ text: Slice<UnsafeRawBufferPointer>) -> Bool {
        guard text.count == 24 else { return false }
        let start = text.startIndex
        guard text[start + 22] == UInt8(ascii: "="), text[start + 23] == UInt8(ascii: "=") else { return false }
        for index in start..<(start + 22) where sextet(text[index]) == nil { return false }
        return sextet(text[start + 21])! & 0x0F == 0
    }

    /// Encodes 20 bytes (a SHA-1) with padding into 28 bytes at `output`.
    static func encode20(_ input: UnsafePointer<UInt8>, into output: UnsafeMutablePointer<UInt8>) {
        var out = 0
        for index in stride(from: 0, to: 18, by: 3) {
            let group = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            output[out] = alphabet[Int(group >> 18 & 0x3F)]
            output[out + 1] = alphabet[Int(group >> 12 & 0x3F)]
            output[out + 2] = alphabet[Int(group >> 6 & 0x3F)]
            output[out + 3] = alphabet[Int(group & 0x3F)]
            out += 4
        }
        let group = UInt32(input[18]) << 16 | UInt32(input[19]) << 8
        output[24] = alphabet[Int(group >> 18 & 0x3F)]
        output[25] = alphabet[Int(group >> 12 & 0x3F)]
        output[26] = alphabet[Int(group >> 6 & 0x3F)]
        output[27] = UInt8(ascii: "=")
    }

    static func sextet(_ character: UInt8) -> UInt32? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(character - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(character - UInt8(ascii: "a")) + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(character - UInt8(ascii: "0")) + 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }
}
