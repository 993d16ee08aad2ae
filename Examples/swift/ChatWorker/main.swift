// Chat worker: a client joins room NAME from `?room=NAME` (or the last path segment, e.g.
// /chat/NAME), and every text it sends reaches everyone in the room as "nick: text". A demo
// of auth: clients without a `token` query parameter or an Authorization header get 401.
//
//     ringgate --backend-socket /tmp/ringgate.sock &
//     ringgate-chat-worker --socket /tmp/ringgate.sock
//     python3 -m websockets 'ws://127.0.0.1:8080/chat?room=lobby&nick=ann&token=x'
#if canImport(Glibc)
import Glibc
#endif
import RingGateBackend

/// Writes one line straight to a descriptor: unbuffered, so a test reading the pipe sees it now.
func say(_ line: String, to fd: Int32 = 1) {
    var text = line + "\n"
    text.withUTF8 { _ = write(fd, $0.baseAddress, $0.count) }
}

func option(_ flag: String) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: flag), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

/// Who a connection is and which room topic it talks to.
struct Member {
    let nick: String
    let topic: String
}

func member(for request: OpenRequest) -> Member {
    let lastSegment = request.path.split(separator: "/").last.map(String.init)
    let room = request.queryValue("room") ?? lastSegment ?? "lobby"
    let nick = request.queryValue("nick") ?? request.conn.description
    return Member(nick: nick, topic: "room:" + room)
}

let socketPath = option("--socket") ?? "/tmp/ringgate.sock"
let name = option("--name") ?? "chat-\(getpid())"
var members: [ConnectionID: Member] = [:]

do {
    let link = try await BackendLink.connect(path: socketPath, name: name)
    say("chat worker \(name) connected to \(link.gateway.gatewayID)")
    for await event in link.events {
        switch event {
        case .open(let request):
            if request.needsDecision, request.queryValue("token") == nil, request.header("authorization") == nil {
                try await link.reject(request.conn, status: 401, body: "a token is required\n")
                continue
            }
            let joined = member(for: request)
            members[request.conn] = joined
            if request.needsDecision { try await link.accept(request.conn) }
            try await link.subscribe(request.conn, to: joined.topic)
        case .message(let conn, .text(let text)):
            if let sender = members[conn] {
                try await link.publish(topic: sender.topic, text: "\(sender.nick): \(text)")
            }
        case .closed(let conn, _, _):
            members[conn] = nil
        case .failed(let error):
            say("chat worker \(name): link failed: \(error)", to: 2)
            exit(1)
        default:
            break
        }
    }
} catch {
    say("chat worker \(name): \(error)", to: 2)
    exit(1)
}
