// Echo worker: accepts every client and sends each message back. With `--tag NAME`, text
// replies start with "NAME: ", which shows which worker answered.
//
//     ringgate --backend-socket /tmp/ringgate.sock &
//     ringgate-echo-worker --socket /tmp/ringgate.sock [--name echo-1] [--tag A]
#if canImport(Glibc)
import Glibc
#endif
import RingGateBackend

/// Writes one line straight to a descriptor: unbuffered, so a test reading the pipe sees it now.
func say(_ line: String, to fd: Int32 = 1) {
    var text = line + "\n"
    text.withUTF8 { _ = write(fd, $0.baseAddress, $0.count) }
}

/// The value after `flag` on the command line, if given.
func option(_ flag: String) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: flag), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

let socketPath = option("--socket") ?? "/tmp/ringgate.sock"
let tag = option("--tag")
let name = option("--name") ?? tag ?? "echo-\(getpid())"
let prefix = tag.map { "\($0): " } ?? ""

do {
    let link = try await BackendLink.connect(path: socketPath, name: name)
    say("echo worker \(name) connected to \(link.gateway.gatewayID)")
    for await event in link.events {
        switch event {
        case .open(let request) where request.needsDecision:
            try await link.accept(request.conn)
        case .message(let conn, .text(let text)):
            try await link.send(conn, text: prefix + text)
        case .message(let conn, .binary(let bytes)):
            try await link.send(conn, binary: bytes)
        case .failed(let error):
            say("echo worker \(name): link failed: \(error)", to: 2)
            exit(1)
        default:
            break
        }
    }
} catch {
    say("echo worker \(name): \(error)", to: 2)
    exit(1)
}
