// HandshakeParser: every outcome, incremental feeding at every split point, and the bytes
// a client pipelines behind its request.

import RingWebSocket
import Testing

/// A request head from lines, each ended with CRLF, plus the blank line.
func request(_ lines: [String]) -> [UInt8] {
    Array((lines.map { $0 + "\r\n" }.joined() + "\r\n").utf8)
}

let sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="

func upgradeLines(path: String = "/chat?room=1", extra: [String] = []) -> [String] {
    [
        "GET \(path) HTTP/1.1",
        "Host: server.example.com",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: \(sampleKey)",
        "Sec-WebSocket-Version: 13",
    ] + extra
}

func parse(_ bytes: [UInt8], policy: HandshakePolicy = HandshakePolicy()) -> HandshakeStep {
    var parser = HandshakeParser(policy: policy)
    return bytes.withUnsafeBytes { parser.feed($0) }
}

func rejection(_ bytes: [UInt8], policy: HandshakePolicy = HandshakePolicy()) -> HandshakeRejection? {
    if case .reject(let reason) = parse(bytes, policy: policy) { return reason }
    return nil
}

@Suite struct HandshakeParserTests {
    @Test func validUpgrade() throws {
        let bytes = request(upgradeLines(extra: [
            "Origin: https://example.com",
            "User-Agent: test/1.0",
            "Cookie: a=1",
            "X-Forwarded-For: 10.0.0.1",
            "Authorization: Bearer t",
            "Accept: */*",
        ]))
        guard case .upgrade(let upgrade, let consumed) = parse(bytes) else {
            Issue.record("expected an upgrade")
            return
        }
        #expect(consumed == bytes.count)
        #expect(upgrade.path == "/chat")
        #expect(upgrade.query == "room=1")
        #expect(upgrade.host == "server.example.com")
        #expect(upgrade.origin == "https://example.com")
        #expect(upgrade.key == sampleKey)
        #expect(upgrade.subprotocol == nil)
        #expect(upgrade.headers == [
            HeaderField(name: "user-agent", value: "test/1.0"),
            HeaderField(name: "cookie", value: "a=1"),
            HeaderField(name: "x-forwarded-for", value: "10.0.0.1"),
            HeaderField(name: "authorization", value: "Bearer t"),
        ])
    }

    @Test func namesAreCaseInsensitiveAndTokensAreLists() {
        let bytes = request([
            "GET / HTTP/1.1",
            "hOST: h",
            "UPGRADE: WebSocket",
            "connection: keep-alive,  Upgrade ",
            "SEC-WEBSOCKET-KEY:\t\(sampleKey)\t",
            "sec-websocket-version: 13",
        ])
        guard case .upgrade(let upgrade, _) = parse(bytes) else {
            Issue.record("expected an upgrade")
            return
        }
        #expect(upgrade.path == "/" && upgrade.query == nil && upgrade.key == sampleKey)
    }

    @Test func upgradeTokensAcrossRepeatedHeaders() {
        let bytes = request([
            "GET / HTTP/1.1", "Host: h", "Upgrade: h2c", "Upgrade: websocket",
            "Connection: keep-alive", "Connection: upgrade",
            "Sec-WebSocket-Key: \(sampleKey)", "Sec-WebSocket-Version: 13",
        ])
        if case .upgrade = parse(bytes) {} else { Issue.record("expected an upgrade") }
    }

    @Test func subprotocolFollowsServerPreference() {
        let policy = HandshakePolicy(subprotocols: ["v2.chat", "v1.chat"])
        func chosen(_ offers: [String]) -> String? {
            guard case .upgrade(let upgrade, _) = parse(request(upgradeLines(extra: offers.map { "Sec-WebSocket-Protocol: \($0)" })), policy: policy) else {
                return "not an upgrade"
            }
            return upgrade.subprotocol
        }
        #expect(chosen(["v1.chat, v2.chat"]) == "v2.chat")
        #expect(chosen(["v1.chat"]) == "v1.chat")
        #expect(chosen(["v1.chat", "other, v2.chat"]) == "v2.chat")
        #expect(chosen(["V2.CHAT"]) == nil)
        #expect(chosen(["mqtt"]) == nil)
        #expect(chosen([]) == nil)
    }

    @Test func plainGetIsReturnedForTheGateway() {
        let bytes = request(["GET /healthz?full HTTP/1.1", "Host: h", "Accept: */*"])
        #expect(parse(bytes + Array("GET /next".utf8)) == .plainRequest(
            PlainRequest(method: "GET", path: "/healthz", query: "full", host: "h"), consumed: bytes.count
        ))
        // An Upgrade to something else is not a WebSocket request.
        let h2c = request(["GET / HTTP/1.1", "Host: h", "Upgrade: h2c", "Connection: Upgrade"])
        if case .plainRequest = parse(h2c) {} else { Issue.record("expected a plain request") }
    }

    // MARK: - Rejections

    @Test func malformedRequests() {
        let cases: [(String, [UInt8])] = [
            ("empty request line", request(["", "Host: h"])),
            ("no version", request(["GET /"])),
            ("double space", request(["GET  / HTTP/1.1", "Host: h"])),
            ("absolute form", request(["GET http://h/ HTTP/1.1", "Host: h"])),
            ("space before colon", request(["GET / HTTP/1.1", "Host : h"])),
            ("no colon", request(["GET / HTTP/1.1", "Host h"])),
            ("empty name", request(["GET / HTTP/1.1", ": h"])),
            ("obs-fold", request(["GET / HTTP/1.1", "Host: h", "X-Long: a", " b"])),
            ("obs-fold tab", request(["GET / HTTP/1.1", "Host: h", "X-Long: a", "\tb"])),
            ("bare CR in value", Array("GET / HTTP/1.1\r\nHost: h\rx\r\n\r\n".utf8)),
            ("bare LF", Array("GET / HTTP/1.1\nHost: h\r\n\r\n".utf8)),
            ("LF only", Array("GET / HTTP/1.1\nHost: h\n\n".utf8)),
            ("NUL in value", Array("GET / HTTP/1.1\r\nHost: h\0\r\n\r\n".utf8)),
            ("DEL in value", Array("GET / HTTP/1.1\r\nHost: h\u{7F}\r\n\r\n".utf8)),
            ("bad content-length", request(["GET / HTTP/1.1", "Host: h", "Content-Length: 1x"])),
            ("garbage version", request(["GET / HTTP/one", "Host: h"])),
            ("control in target", Array("GET /\u{1}x HTTP/1.1\r\nHost: h\r\n\r\n".utf8)),
        ]
        for (name, bytes) in cases {
            #expect(rejection(bytes) == .malformed, "\(name)")
        }
    }

    @Test func statusForEachRejection() {
        #expect(rejection(request(["GET / HTTP/1.0", "Host: h"])) == .httpVersionNotSupported)
        #expect(rejection(request(["POST / HTTP/1.1", "Host: h", "Content-Length: 0"])) == .methodNotAllowed)
        #expect(rejection(request(["get / HTTP/1.1", "Host: h"])) == .methodNotAllowed)
        #expect(rejection(request(["GET / HTTP/1.1"])) == .missingHost)
        #expect(rejection(request(["GET / HTTP/1.1", "Host: a", "Host: b"])) == .missingHost)
        #expect(rejection(request(upgradeLines(extra: ["Content-Length: 5"]))) == .bodyNotAllowed)
        #expect(rejection(request(upgradeLines(extra: ["Transfer-Encoding: chunked"]))) == .bodyNotAllowed)
        #expect(rejection(request(upgradeLines(extra: ["Content-Length: 0"]))) == nil)

        let withoutUpgrade = upgradeLines().filter { !$0.hasPrefix("Upgrade") }
        #expect(rejection(request(withoutUpgrade)) == .missingUpgradeToken)
        let withoutConnection = upgradeLines().filter { !$0.hasPrefix("Connection") }
        #expect(rejection(request(withoutConnection)) == .missingConnectionToken)
        let keepAliveOnly = withoutConnection + ["Connection: keep-alive"]
        #expect(rejection(request(keepAliveOnly)) == .missingConnectionToken)

        let withoutVersion = upgradeLines().filter { !$0.hasPrefix("Sec-WebSocket-Version") }
        #expect(rejection(request(withoutVersion)) == .unsupportedVersion)
        #expect(rejection(request(withoutVersion + ["Sec-WebSocket-Version: 8"])) == .unsupportedVersion)
        #expect(rejection(request(upgradeLines(extra: ["Sec-WebSocket-Version: 8"]))) == .duplicateField)

        let withoutKey = upgradeLines().filter { !$0.hasPrefix("Sec-WebSocket-Key") }
        #expect(rejection(request(withoutKey)) == .invalidKey)
        for key in ["dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=", "AAAAAAAAAAAAAAAAAAAAAA", "dGhlIHNhbXBsZSBub25j", "dGhlIHNhbXBsZSBub25jZR==", "dGhl*HNhbXBsZSBub25jZQ==", ""] {
            #expect(rejection(request(withoutKey + ["Sec-WebSocket-Key: \(key)"])) == .invalidKey, "key \(key)")
        }
        #expect(rejection(request(upgradeLines(extra: ["Sec-WebSocket-Key: \(sampleKey)"]))) == .invalidKey)
    }

    @Test("Origin and Sec-WebSocket-Version appear once: a refused Origin cannot hide behind an allowed one")
    func duplicateFields() {
        let allowList = HandshakePolicy(allowedOrigins: ["https://app.example.com"])
        for pair in [["Origin: https://evil.example.com", "Origin: https://app.example.com"],
                     ["Origin: https://app.example.com", "Origin: https://evil.example.com"]] {
            #expect(rejection(request(upgradeLines(extra: pair)), policy: allowList) == .duplicateField)
        }
        #expect(rejection(request(upgradeLines(extra: ["Sec-WebSocket-Version: 13"]))) == .duplicateField)
        #expect(rejection(request(upgradeLines(extra: ["Origin: https://app.example.com"])), policy: allowList) == nil)
        #expect(HandshakeRejection.duplicateField.status == 400)
    }

    @Test func originPolicy() {
        let allowList = HandshakePolicy(allowedOrigins: ["https://app.example.com"])
        #expect(rejection(request(upgradeLines(extra: ["Origin: https://evil.example.com"])), policy: allowList) == .originNotAllowed)
        #expect(rejection(request(upgradeLines(extra: ["Origin: HTTPS://APP.example.com"])), policy: allowList) == nil)
        #expect(rejection(request(upgradeLines()), policy: allowList) == nil)
        let strict = HandshakePolicy(allowedOrigins: ["https://app.example.com"], requireOrigin: true)
        #expect(rejection(request(upgradeLines()), policy: strict) == .originNotAllowed)
        #expect(rejection(request(upgradeLines(extra: ["Origin: https://anything"]))) == nil)
    }

    @Test func headTooLarge() {
        let policy = HandshakePolicy(maxHeaderBytes: 256)
        let big = request(upgradeLines(extra: ["X-Pad: " + String(repeating: "a", count: 300)]))
        #expect(rejection(big, policy: policy) == .headTooLarge)
        // Incrementally, without a terminator, the parser refuses once the limit is reached.
        var parser = HandshakeParser(policy: policy)
        var step = HandshakeStep.needMore
        var fed = 0
        while step == .needMore, fed < 1000 {
            step = Array("GET / HTTP/1.1\r\nX: ".utf8 + [UInt8](repeating: 0x61, count: 50)).withUnsafeBytes { parser.feed($0) }
            fed += 1
        }
        #expect(step == .reject(.headTooLarge))
        #expect(fed == 4)
        #expect(parser.bufferedByteCount == 0)
        // A head of exactly the limit is fine.
        let exact = request(["GET / HTTP/1.1", "Host: h", "X: " + String(repeating: "b", count: 256 - 32)])
        #expect(exact.count == 256)
        if case .plainRequest = parse(exact, policy: policy) {} else { Issue.record("expected a plain request") }
    }

    // MARK: - Incremental feeding and pipelining

    @Test func everySplitPointGivesTheSameUpgradeAndKeepsPipelinedFrames() throws {
        let head = request(upgradeLines())
        let frame = clientFrame(0x1, text: "early")
        let stream = head + frame
        for cut in 0...stream.count {
            for plan in [[cut], cut == 0 ? Array(0..<stream.count) : []] where !plan.isEmpty || cut == 0 {
                var parser = HandshakeParser()
                var start = 0
                var leftover: [UInt8]?
                var upgrade: UpgradeRequest?
                for end in plan + [stream.count] where end >= start {
                    let piece = Array(stream[start..<end])
                    start = end
                    if leftover != nil {
                        leftover! += piece
                        continue
                    }
                    switch piece.withUnsafeBytes({ parser.feed($0) }) {
                    case .needMore:
                        continue
                    case .upgrade(let request, let consumed):
                        upgrade = request
                        leftover = Array(piece[consumed...])
                        #expect(parser.bufferedByteCount == 0)
                    default:
                        Issue.record("unexpected step at cut \(cut)")
                    }
                }
                #expect(upgrade?.key == sampleKey, "cut \(cut)")
                #expect(upgrade?.query == "room=1", "cut \(cut)")
                #expect(leftover == frame, "cut \(cut) plan \(plan.count)")
                if let leftover {
                    #expect(events(leftover) == [.text("early")])
                }
            }
        }
    }

    @Test func bareLineFeedIsRefusedAsSoonAsSeen() {
        var parser = HandshakeParser()
        #expect(Array("GET / HTTP/1.1\r\n".utf8).withUnsafeBytes { parser.feed($0) } == .needMore)
        #expect(Array("Host: h\n".utf8).withUnsafeBytes { parser.feed($0) } == .reject(.malformed))
    }

    @Test func parserIsReusableAfterAStep() {
        var parser = HandshakeParser()
        let health = request(["GET /healthz HTTP/1.1", "Host: h"])
        for _ in 0..<2 {
            let step = health.withUnsafeBytes { parser.feed($0) }
            #expect(step == .plainRequest(PlainRequest(method: "GET", path: "/healthz", query: nil, host: "h"), consumed: health.count))
        }
        #expect(Array("GET / HTTP".utf8).withUnsafeBytes { parser.feed($0) } == .needMore)
        #expect(parser.bufferedByteCount == 10)
        parser.reset()
        #expect(parser.bufferedByteCount == 0)
    }
}
