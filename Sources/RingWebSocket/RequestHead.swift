// Parsing of one complete HTTP/1.1 request head (RFC 7230 sections 3.1.1 and 3.2), already
// cut at its blank line, and the WebSocket upgrade checks of RFC 6455 section 4.2.1.
//
// The grammar is applied strictly, since a gateway that is lenient where a backend is strict
// (or the reverse) invites request smuggling: every line ends in CRLF (a bare CR or bare LF
// is refused), obs-fold continuation lines are refused (RFC 7230 section 3.2.4), field names
// are tokens with no space before the colon, and values hold only visible bytes, space and
// tab. The head is read in place; Strings are built only for the fields the application
// receives.

/// The outcome of parsing a complete request head.
enum HeadOutcome: Equatable {
    case upgrade(UpgradeRequest)
    case plain(PlainRequest)
    case reject(HandshakeRejection)
}

/// Parses one request head in place.
struct RequestHead {
    typealias Bytes = Slice<UnsafeRawBufferPointer>

    let head: UnsafeRawBufferPointer
    let policy: HandshakePolicy

    // Findings while reading the header fields.
    var host: Bytes?
    var hostCount = 0
    var origin: Bytes?
    var originCount = 0
    var versionCount = 0
    var key: Bytes?
    var keyCount = 0
    var upgradeSeen = false
    var upgradeHasWebSocket = false
    var connectionHasUpgrade = false
    var versionSeen = false
    var versionIs13 = true
    var bodyAnnounced = false
    var chosenSubprotocol: Int?
    var forwarded: [(name: Int, value: Bytes)] = []

    /// Parses `head`, which ends with its CRLF CRLF and has no LF without a CR before it.
    static func parse(_ head: UnsafeRawBufferPointer, policy: HandshakePolicy) -> HeadOutcome {
        var parser = RequestHead(head: head, policy: policy)
        return parser.run()
    }

    private init(head: UnsafeRawBufferPointer, policy: HandshakePolicy) {
        self.head = head
        self.policy = policy
    }

    private mutating func run() -> HeadOutcome {
        var position = 0
        guard let requestLine = nextLine(&position), !requestLine.isEmpty else { return .reject(.malformed) }
        let request: RequestLine
        switch RequestLine.parse(head[requestLine]) {
        case .success(let parsed): request = parsed
        case .failure(let rejection): return .reject(rejection)
        }
        while true {
            guard let line = nextLine(&position) else { return .reject(.malformed) }
            if line.isEmpty { break }
            guard readField(head[line]) else { return .reject(.malformed) }
        }
        // HEAD is for the plain routes (health checks); an upgrade is a GET.
        let isHead = request.method.elementsEqual("HEAD".utf8)
        guard request.method.elementsEqual("GET".utf8) || isHead else { return .reject(.methodNotAllowed) }
        guard hostCount == 1, let host else { return .reject(.missingHost) }
        guard !bodyAnnounced else { return .reject(.bodyNotAllowed) }

        let path = String(decoding: request.path, as: UTF8.self)
        let query = request.query.map { String(decoding: $0, as: UTF8.self) }
        let hostText = String(decoding: host, as: UTF8.self)
        let looksLikeWebSocket = upgradeHasWebSocket || keyCount > 0 || versionSeen
        guard looksLikeWebSocket else {
            return .plain(PlainRequest(method: isHead ? "HEAD" : "GET", path: path, query: query, host: hostText))
        }
        guard !isHead else { return .reject(.methodNotAllowed) }
        // Single-valued fields appear once, or a proxy and the gateway may read different ones
        // (an allowed Origin behind a refused one, say): Host and the key are checked below,
        // Origin and the version here. Upgrade and Connection are lists (RFC 7230 section
        // 3.2.2), so their repeated lines combine instead.
        guard originCount <= 1, versionCount <= 1 else { return .reject(.duplicateField) }
        guard upgradeHasWebSocket else { return .reject(.missingUpgradeToken) }
        guard connectionHasUpgrade else { return .reject(.missingConnectionToken) }
        guard versionSeen, versionIs13 else { return .reject(.unsupportedVersion) }
        guard keyCount == 1, let key, Base64.isSixteenBytes(key) else { return .reject(.invalidKey) }
        let originText = origin.map { String(decoding: $0, as: UTF8.self) }
        guard originAllowed(originText) else { return .reject(.originNotAllowed) }
        return .upgrade(UpgradeRequest(
            path: path, query: query, host: hostText, origin: originText,
            key: String(decoding: key, as: UTF8.self),
            subprotocol: chosenSubprotocol.map { policy.subprotocols[$0] },
            headers: forwarded.map {
                HeaderField(name: policy.forwardedHeaderNames[$0.name], value: String(decoding: $0.value, as: UTF8.self))
            }
        ))
    }

    /// The next line without its CRLF, or nil for a bare CR.
    private func nextLine(_ position: inout Int) -> Range<Int>? {
        let start = position
        var index = start
        while head[index] != ASCII.cr { index += 1 }
        guard index + 1 < head.count, head[index + 1] == ASCII.lf else { return nil }
        position = index + 2
        return start..<index
    }

    /// Reads one header field line.
    /// - Returns: false when the line is not a valid field.
    private mutating func readField(_ line: Bytes) -> Bool {
        guard let offset = UnsafeRawBufferPointer(rebasing: line).firstIndex(of: UInt8(ascii: ":")) else { return false }
        let colon = line.startIndex + offset
        let name = line[line.startIndex..<colon]
        // Byte checks on the raw buffers: iterating a Slice checks every index, a buffer does not.
        guard !name.isEmpty, UnsafeRawBufferPointer(rebasing: name).allSatisfy(ASCII.isTokenCharacter) else { return false }
        let value = ASCII.trimmingWhitespace(line[(colon + 1)...])
        guard UnsafeRawBufferPointer(rebasing: value).allSatisfy(ASCII.isFieldValueCharacter) else { return false }

        if ASCII.isName(name, "host") {
            host = value
            hostCount += 1
        } else if ASCII.isName(name, "upgrade") {
            upgradeHasWebSocket = upgradeHasWebSocket || ASCII.containsToken(value, "websocket")
        } else if ASCII.isName(name, "connection") {
            connectionHasUpgrade = connectionHasUpgrade || ASCII.containsToken(value, "upgrade")
        } else if ASCII.isName(name, "sec-websocket-key") {
            key = value
            keyCount += 1
        } else if ASCII.isName(name, "sec-websocket-version") {
            versionCount += 1
            versionSeen = true
            versionIs13 = versionIs13 && value.elementsEqual("13".utf8)
        } else if ASCII.isName(name, "sec-websocket-protocol") {
            for offered in ASCII.tokens(in: value) {
                let limit = chosenSubprotocol ?? policy.subprotocols.count
                if let index = policy.subprotocols[..<limit].firstIndex(where: { $0.utf8.elementsEqual(offered) }) {
                    chosenSubprotocol = index
                }
            }
        } else if ASCII.isName(name, "origin") {
            origin = value
            originCount += 1
        } else if ASCII.isName(name, "content-length") {
            guard !value.isEmpty, value.allSatisfy(ASCII.isDigit) else { return false }
            bodyAnnounced = bodyAnnounced || value.contains { $0 != UInt8(ascii: "0") }
        } else if ASCII.isName(name, "transfer-encoding") {
            bodyAnnounced = true
        }
        if !policy.forwardedHeaderNames.isEmpty,
           let index = policy.forwardedHeaderNames.firstIndex(where: { ASCII.equalsIgnoringCase(name, $0) }) {
            forwarded.append((index, value))
        }
        return true
    }

    private func originAllowed(_ origin: String?) -> Bool {
        guard let origin else { return !policy.requireOrigin }
        if policy.allowedOrigins.isEmpty { return true }
        let lowered = origin.lowercased()
        return policy.allowedOrigins.contains { $0.lowercased() == lowered }
    }
}

/// `method SP request-target SP HTTP-version` (RFC 7230 section 3.1.1).
struct RequestLine {
    typealias Bytes = Slice<UnsafeRawBufferPointer>

    var method: Bytes
    var path: Bytes
    var query: Bytes?

    static func parse(_ line: Bytes) -> Result<RequestLine, HandshakeRejection> {
        let space = UInt8(ascii: " ")
        guard let firstSpace = line.firstIndex(of: space) else { return .failure(.malformed) }
        let method = line[line.startIndex..<firstSpace]
        let afterMethod = line[(firstSpace + 1)...]
        guard let secondSpace = afterMethod.firstIndex(of: space) else { return .failure(.malformed) }
        let target = line[(firstSpace + 1)..<secondSpace]
        let version = line[(secondSpace + 1)...]
        guard !method.isEmpty, method.allSatisfy(ASCII.isTokenCharacter) else { return .failure(.malformed) }
        // Origin-form only: a path starting with "/" (section 5.3.1), visible ASCII.
        guard target.first == UInt8(ascii: "/"), target.allSatisfy(ASCII.isVisible) else { return .failure(.malformed) }
        guard version.elementsEqual("HTTP/1.1".utf8) else {
            let looksLikeVersion = version.count == 8 && version.starts(with: "HTTP/".utf8)
                && ASCII.isDigit(version[version.startIndex + 5])
                && version[version.startIndex + 6] == UInt8(ascii: ".")
                && ASCII.isDigit(version[version.startIndex + 7])
            return .failure(looksLikeVersion ? .httpVersionNotSupported : .malformed)
        }
        if let question = target.firstIndex(of: UInt8(ascii: "?")) {
            return .success(RequestLine(
                method: method, path: target[target.startIndex..<question], query: target[(question + 1)...]
            ))
        }
        return .success(RequestLine(method: method, path: target, query: nil))
    }
}
