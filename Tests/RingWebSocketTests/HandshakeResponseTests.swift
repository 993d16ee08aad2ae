// Response bytes: the accept key from RFC 6455's own example, and well-formed status lines,
// lengths and headers for every refusal.

import RingWebSocket
import Testing

@Suite struct HandshakeResponseTests {
    @Test func acceptKeyMatchesRFCExample() {
        // RFC 6455 section 1.3.
        #expect(HandshakeResponse.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        // RFC 6455 section 4.2.2 uses the same key; one more from section 1.2's client.
        #expect(HandshakeResponse.acceptValue(forKey: "x3JJHMbDL1EzLkh9GBhXDw==") == "HSmrc0sMlYUkAGmm5OPpG2HaGWk=")
    }

    @Test func switchingProtocols() {
        let upgrade = UpgradeRequest(path: "/", query: nil, host: "h", origin: nil, key: "dGhlIHNhbXBsZSBub25jZQ==",
                                     subprotocol: "chat", headers: [])
        let text = String(decoding: HandshakeResponse.switchingProtocols(for: upgrade), as: UTF8.self)
        #expect(text == "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n")
        var plain = upgrade
        plain.subprotocol = nil
        let withoutProtocol = String(decoding: HandshakeResponse.switchingProtocols(for: plain), as: UTF8.self)
        #expect(!withoutProtocol.contains("Sec-WebSocket-Protocol"))
        #expect(withoutProtocol.hasSuffix("\r\n\r\n"))
    }

    @Test(arguments: HandshakeRejection.allCases)
    func rejectionResponse(_ rejection: HandshakeRejection) throws {
        let text = String(decoding: HandshakeResponse.rejection(rejection), as: UTF8.self)
        // "\r\n" is one Character, so this splits into lines; the blank line ends the head.
        let lines = text.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let blank = try #require(lines.firstIndex(of: ""))
        let head = lines[..<blank]
        let body = lines[(blank + 1)...].joined(separator: "\r\n")
        #expect(head.first == "HTTP/1.1 \(rejection.status) \(rejection.reasonPhrase)")
        #expect(head.contains("Content-Length: \(body.utf8.count)"))
        #expect(head.contains("Connection: close"))
        #expect(head.contains("Sec-WebSocket-Version: 13") == (rejection.status == 426))
        #expect(head.contains("Allow: GET, HEAD") == (rejection.status == 405))
    }

    @Test func statusMapping() {
        let expected: [HandshakeRejection: Int] = [
            .malformed: 400, .httpVersionNotSupported: 505, .headTooLarge: 431, .methodNotAllowed: 405,
            .missingHost: 400, .bodyNotAllowed: 400, .missingUpgradeToken: 400, .missingConnectionToken: 400,
            .unsupportedVersion: 426, .invalidKey: 400, .originNotAllowed: 403, .duplicateField: 400,
        ]
        for rejection in HandshakeRejection.allCases {
            #expect(rejection.status == expected[rejection])
        }
    }

    @Test func plainResponse() {
        let bytes = HandshakeResponse.plain(status: 200, reason: "OK", contentType: "text/plain", body: Array("ok\n".utf8))
        #expect(String(decoding: bytes, as: UTF8.self)
            == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
        let keepAlive = HandshakeResponse.plain(status: 204, reason: "No Content", contentType: "text/plain", body: [], closeConnection: false)
        #expect(!String(decoding: keepAlive, as: UTF8.self).contains("Connection"))
    }
}
