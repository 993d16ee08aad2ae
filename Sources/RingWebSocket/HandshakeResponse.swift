// HTTP responses the gateway sends before any frame: 101 for an accepted upgrade, an error
// for a refused one, and a small plain response for requests such as /healthz. They are
// built once per connection, so plain byte arrays are fine here.

import CDigest

/// Builders for the bytes of handshake responses.
public enum HandshakeResponse {
    /// The GUID appended to the client key before hashing (RFC 6455 section 1.3).
    static let acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// The `Sec-WebSocket-Accept` value for a client key: base64 of the SHA-1 of the key
    /// followed by the protocol GUID (RFC 6455 section 4.2.2, item 5.4).
    /// - Parameter key: the `Sec-WebSocket-Key` value as received.
    public static func acceptValue(forKey key: String) -> String {
        withAcceptValue(forKey: key) { String(decoding: $0, as: UTF8.self) }
    }

    /// Calls `body` with the 28 bytes of the accept value, computed on the stack.
    static func withAcceptValue<R>(forKey key: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        // Keys are 24 bytes and the GUID 36: 60 bytes in all, hashed from a stack buffer.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { scratch in
            var count = 0
            for byte in key.utf8.prefix(64) { scratch[count] = byte; count += 1 }
            for byte in acceptGUID.utf8 { scratch[count] = byte; count += 1 }
            let digest = scratch.baseAddress! + 64
            let result = rg_sha1(scratch.baseAddress, count, digest)
            // rg_sha1 fails only if libcrypto itself is broken; there is no handshake without it.
            precondition(result == 0, "rg_sha1 failed: \(result)")
            let encoded = scratch.baseAddress! + 96
            Base64.encode20(digest, into: encoded)
            return body(UnsafeBufferPointer(start: encoded, count: 28))
        }
    }

    /// The 101 response accepting `request`.
    /// - Parameters:
    ///   - request: the request returned by `HandshakeParser`.
    ///   - extraHeaders: further header fields to send (for example `Set-Cookie`).
    /// - Returns: the response head, CRLF CRLF included.
    public static func switchingProtocols(for request: UpgradeRequest, extraHeaders: [HeaderField] = []) -> [UInt8] {
        // Built byte by byte into one array: this runs once per connection, a million times in a ramp.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(160)
        append("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ", to: &bytes)
        withAcceptValue(forKey: request.key) { bytes.append(contentsOf: $0) }
        append("\r\n", to: &bytes)
        if let subprotocol = request.subprotocol {
            append("Sec-WebSocket-Protocol: ", to: &bytes)
            bytes.append(contentsOf: subprotocol.utf8)
            append("\r\n", to: &bytes)
        }
        for field in extraHeaders {
            bytes.append(contentsOf: field.name.utf8)
            append(": ", to: &bytes)
            bytes.append(contentsOf: field.value.utf8)
            append("\r\n", to: &bytes)
        }
        append("\r\n", to: &bytes)
        return bytes
    }

    private static func append(_ text: StaticString, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// The error response for a refused request: its status, a one-line text body,
    /// `Connection: close`, plus `Sec-WebSocket-Version: 13` for 426 (RFC 6455 section 4.4)
    /// and `Allow: GET, HEAD` for 405 (RFC 7231 section 6.5.5).
    public static func rejection(_ rejection: HandshakeRejection) -> [UInt8] {
        var extra: [HeaderField] = []
        switch rejection.status {
        case 426: extra.append(HeaderField(name: "Sec-WebSocket-Version", value: "13"))
        case 405: extra.append(HeaderField(name: "Allow", value: "GET, HEAD"))
        default: break
        }
        return plain(
            status: rejection.status, reason: rejection.reasonPhrase, contentType: "text/plain; charset=utf-8",
            body: Array((rejection.detail + "\n").utf8), extraHeaders: extra
        )
    }

    /// A complete response with a body, for requests the gateway answers itself.
    /// - Parameters:
    ///   - status: the status code, for example 200.
    ///   - reason: the reason phrase, for example `"OK"`.
    ///   - contentType: the `Content-Type` value.
    ///   - body: the body bytes; `Content-Length` is set from them.
    ///   - closeConnection: whether to send `Connection: close` (the owner then closes).
    ///   - extraHeaders: further header fields.
    /// - Returns: head and body.
    /// `response` without its body: the answer to a HEAD request for the same resource.
    public static func headOnly(_ response: [UInt8]) -> [UInt8] {
        let end: [UInt8] = [ASCII.cr, ASCII.lf, ASCII.cr, ASCII.lf]
        guard response.count >= 4 else { return response }
        for index in 0...(response.count - 4) where response[index..<(index + 4)].elementsEqual(end) {
            return Array(response[..<(index + 4)])
        }
        return response
    }

    public static func plain(
        status: Int, reason: String, contentType: String, body: [UInt8],
        closeConnection: Bool = true, extraHeaders: [HeaderField] = []
    ) -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(reason)\r\n"
        text += "Content-Type: \(contentType)\r\n"
        text += "Content-Length: \(body.count)\r\n"
        if closeConnection {
            text += "Connection: close\r\n"
        }
        for field in extraHeaders {
            text += "\(field.name): \(field.value)\r\n"
        }
        text += "\r\n"
        return Array(text.utf8) + body
    }
}
