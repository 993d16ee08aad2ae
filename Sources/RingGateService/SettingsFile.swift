import RingGateway
/// The configuration file: a flat subset of TOML, one `key = value` per line.
///
///     # comment
///     port = 8080
///     host = "0.0.0.0"
///     ping-interval = 25.5
///     no-pin = true
///     allowed-origin = ["https://a.example", "https://b.example"]
///
/// Keys are the long option names (`_` may stand for `-`). Strings may be quoted or bare; lists
/// are arrays. No tables or multi-line values: the file mirrors the flags one to one, so a small
/// reader that reports the line of every mistake serves better than a general parser.
enum SettingsFile {
    struct Entry: Equatable {
        let key: String
        let values: [String]
        let line: Int
    }

    /// The entries of `text`, or an error naming `path` and the line.
    static func parse(_ text: String, path: String) throws(SettingError) -> [Entry] {
        var entries: [Entry] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = stripComment(Substring(rawLine)).trimmingSpaces
            if line.isEmpty { continue }
            let where_ = "\(path):\(index + 1)"
            guard let equals = line.firstIndex(of: "=") else {
                throw SettingError("\(where_): expected `key = value`, got '\(line)'")
            }
            let key = String(line[..<equals].trimmingSpaces).replacingUnderscores
            let valueText = line[line.index(after: equals)...].trimmingSpaces
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                throw SettingError("\(where_): '\(line[..<equals].trimmingSpaces)' is not a key name")
            }
            guard !valueText.isEmpty else { throw SettingError("\(where_): no value for \(key)") }
            let values: [String]
            if valueText.first == "[" {
                guard valueText.last == "]" else { throw SettingError("\(where_): the list for \(key) must end with ] on the same line") }
                let inner = valueText.dropFirst().dropLast().trimmingSpaces
                values = try inner.isEmpty ? [] : splitList(inner).map { item throws(SettingError) in
                    try scalar(item.trimmingSpaces, at: where_, key: key)
                }
            } else {
                values = [try scalar(valueText, at: where_, key: key)]
            }
            entries.append(Entry(key: key, values: values, line: index + 1))
        }
        return entries
    }

    private static func scalar(_ text: Substring, at where_: String, key: String) throws(SettingError) -> String {
        guard text.first == "\"" else {
            guard !text.isEmpty, !text.contains(where: { $0 == "\"" || $0 == " " || $0 == "[" || $0 == "]" }) else {
                throw SettingError("\(where_): cannot read the value of \(key): '\(text)' (quote strings)")
            }
            return String(text)
        }
        var result = ""
        var escaped = false
        for (offset, character) in text.dropFirst().enumerated() {
            if escaped {
                result.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                guard offset == text.count - 2 else { throw SettingError("\(where_): text after the closing quote of \(key)") }
                return result
            } else {
                result.append(character)
            }
        }
        throw SettingError("\(where_): the string for \(key) has no closing quote")
    }

    /// Splits on commas outside quotes.
    private static func splitList(_ text: Substring) -> [Substring] {
        var parts: [Substring] = []
        var start = text.startIndex
        var quoted = false
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "\"" { quoted.toggle() }
            if character == ",", !quoted {
                parts.append(text[start..<index])
                start = text.index(after: index)
            }
            index = text.index(after: index)
        }
        let last = text[start...]
        if !last.trimmingSpaces.isEmpty { parts.append(last) }
        return parts
    }

    /// Drops a `#` comment that is not inside a string.
    private static func stripComment(_ line: Substring) -> Substring {
        var quoted = false
        for index in line.indices {
            if line[index] == "\"" { quoted.toggle() }
            if line[index] == "#", !quoted { return line[..<index] }
        }
        return line
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" || first == "\r" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\r" { text = text.dropLast() }
        return text
    }
}

extension String {
    var replacingUnderscores: String { String(map { $0 == "_" ? "-" : $0 }) }
}
