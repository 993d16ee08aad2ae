// The HTTP upgrade as the gateway does it per connection: parse a typical browser request and
// build its 101 response. At a million connections this runs a million times during the ramp.

import RingWebSocket

private let request = Array("""
    GET /chat?room=lobby HTTP/1.1\r
    Host: gateway.example.com:8080\r
    User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r
    Accept: */*\r
    Accept-Language: en-US,en;q=0.5\r
    Accept-Encoding: gzip, deflate, br\r
    Sec-WebSocket-Version: 13\r
    Origin: https://app.example.com\r
    Sec-WebSocket-Extensions: permessage-deflate\r
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
    Connection: keep-alive, Upgrade\r
    Cookie: session=0123456789abcdef\r
    Upgrade: websocket\r
    \r

    """.utf8)

func runHandshakeBenchmarks(_ arguments: [String]) {
    let count = Int(arguments.first ?? "") ?? 200_000
    let policy = HandshakePolicy()
    var sink = 0
    let parse = measure("parse request", rounds: 5) {
        request.withUnsafeBytes { bytes in
            for _ in 0..<count {
                var parser = HandshakeParser(policy: policy)
                if case .upgrade(let upgrade, let consumed) = parser.feed(bytes) { sink &+= consumed &+ upgrade.key.utf8.count }
            }
        }
        return count
    }
    var parser = HandshakeParser(policy: policy)
    guard case .upgrade(let upgrade, _) = request.withUnsafeBytes({ parser.feed($0) }) else { fatalError("request refused") }
    let respond = measure("build 101", rounds: 5) {
        for _ in 0..<count { sink &+= HandshakeResponse.switchingProtocols(for: upgrade).count }
        return count
    }
    let both = measure("parse + 101", rounds: 5) {
        request.withUnsafeBytes { bytes in
            for _ in 0..<count {
                var parser = HandshakeParser(policy: policy)
                if case .upgrade(let upgrade, _) = parser.feed(bytes) {
                    sink &+= HandshakeResponse.switchingProtocols(for: upgrade).count
                }
            }
        }
        return count
    }
    printTable("handshake, \(count) per round, ns per operation", [parse, respond, both])
    if sink == 42 { print("") }  // keeps the work observable
}
