import RingWebSocket

/// The upgrade requests a run sends and the accept lines it expects back, built once.
///
/// The core reads a request after `connect` returns (the request is the last link of the
/// connect chain), so the bytes live in memory this object owns for the whole run, not in a
/// Swift array that could move. Keys differ from connection to connection (one of `variants`), so a server
/// that answered every client with one fixed accept value fails the check.
final class UpgradeRequests: @unchecked Sendable {
    // @unchecked: written once in init, only read afterwards, from every ring.
    static let variants = 64
    private let storage: UnsafeMutableRawBufferPointer
    /// Start and length of each variant's request, then of its accept line, in `storage`.
    private let requests: [(offset: Int, count: Int)]
    private let acceptLines: [(offset: Int, count: Int)]

    init(host: String, port: UInt16, path: String) {
        var bytes: [UInt8] = []
        var requests: [(Int, Int)] = []
        var acceptLines: [(Int, Int)] = []
        for variant in 0..<Self.variants {
            let key = Self.key(variant)
            let request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n"
            requests.append((bytes.count, request.utf8.count))
            bytes += request.utf8
            // Anchored at the line start: "\r\n" ends the line before it.
            let line = "\r\nSec-WebSocket-Accept: \(HandshakeResponse.acceptValue(forKey: key))\r\n"
            acceptLines.append((bytes.count, line.utf8.count))
            bytes += line.utf8
        }
        storage = .allocate(byteCount: bytes.count, alignment: 16)
        storage.copyBytes(from: bytes)
        self.requests = requests
        self.acceptLines = acceptLines
    }

    deinit { storage.deallocate() }

    /// The request of variant `variant` (taken modulo `variants`).
    func request(_ variant: Int) -> UnsafeRawBufferPointer {
        let range = requests[variant % Self.variants]
        return UnsafeRawBufferPointer(rebasing: storage[range.offset..<(range.offset + range.count)])
    }

    /// "\r\nSec-WebSocket-Accept: VALUE\r\n" for the key of request `variant`.
    func acceptLine(_ variant: Int) -> UnsafeRawBufferPointer {
        let range = acceptLines[variant % Self.variants]
        return UnsafeRawBufferPointer(rebasing: storage[range.offset..<(range.offset + range.count)])
    }

    /// A valid key: the base64 of 16 bytes, 22 characters and "==" (the last character before
    /// the padding carries 2 bits, so it is one of A, Q, g, w).
    static func key(_ variant: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var key = ""
        for j in 0..<21 { key.append(alphabet[(variant * 31 + j * 17 + 5) % 64]) }
        key.append(Array("AQgw")[variant % 4])
        return key + "=="
    }
}

/// Reads a server's answer to an upgrade request as it arrives, in pieces of any size, and
/// decides whether it is the 101 the request asked for: the status line, the accept value of
/// the key sent, and the blank line that ends the head. 4 bytes per connection.
struct UpgradeCheck {
    enum Outcome { case needMore, upgraded(headBytes: Int), refused }

    private static let status = Array("HTTP/1.1 101 ".utf8)
    /// Heads longer than this are refused; a 101 from any server here is about 130 bytes.
    private static let maxHeadBytes = 4096
    private var headBytesSeen: UInt16 = 0
    private var acceptMatched: UInt8 = 0
    /// How much of the "\r\n\r\n" ending the head has been seen.
    private var headEndMatched: UInt8 = 0

    /// Consumes the response bytes in `bytes`; `acceptLine` is what the connection expects.
    mutating func consume(_ bytes: UnsafeRawBufferPointer, acceptLine: UnsafeRawBufferPointer) -> Outcome {
        let acceptCount = acceptLine.count
        for index in 0..<bytes.count {
            let byte = bytes[index]
            let seen = Int(headBytesSeen)
            if seen < Self.status.count && byte != Self.status[seen] { return .refused }
            guard seen < Self.maxHeadBytes else { return .refused }
            headBytesSeen += 1
            if Int(acceptMatched) < acceptCount {
                if byte == acceptLine[Int(acceptMatched)] {
                    acceptMatched += 1
                } else {
                    acceptMatched = byte == acceptLine[0] ? 1 : 0
                }
            }
            if byte == (headEndMatched % 2 == 0 ? 13 : 10) {
                headEndMatched += 1
            } else {
                headEndMatched = byte == 13 ? 1 : 0
            }
            if headEndMatched == 4 {
                // The accept line's "\r\n" may be the head's last line end, shared with the blank line.
                return Int(acceptMatched) == acceptCount ? .upgraded(headBytes: index + 1) : .refused
            }
        }
        return .needMore
    }
}
