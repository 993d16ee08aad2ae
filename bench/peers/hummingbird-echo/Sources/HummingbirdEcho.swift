import ArgumentParser
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A WebSocket echo server on Hummingbird 2 and hummingbird-websocket, kept only for side-by-side
/// benchmarks against ringgate. Every path upgrades; plain HTTP requests reach an empty router (404).
///
/// Pings, pongs and the close handshake are answered by the library's WebSocket handler; the
/// handler below sees whole messages and writes each one back with its own opcode.
@main
struct HummingbirdEcho: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hummingbird-echo",
        abstract: "Hummingbird WebSocket echo server (benchmark peer)."
    )

    /// Largest message (and frame) accepted, matching ringgate's default `--max-message-size`.
    static let maxMessageBytes = 16 << 20
    /// Listen backlog, matching ringgate's.
    static let backlog = 4096

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port to bind; 0 picks a free one.") var port = 8080
    @Option(help: "Event loop threads (the size of the server's event loop group).") var threads = 1

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
    }

    func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        // Warnings only: the library logs each connection at lower levels, which would be measured too.
        var logger = Logger(label: "hummingbird-echo")
        logger.logLevel = .warning

        let maxBytes = Self.maxMessageBytes
        let host = self.host
        let app = Application(
            router: Router(),
            server: .http1WebSocketUpgrade(
                configuration: .init(ws: .init(maxFrameSize: maxBytes))
            ) { _, _, _ in
                .upgrade([:]) { inbound, outbound, _ in
                    for try await message in inbound.messages(maxSize: maxBytes) {
                        switch message {
                        case .text(let text):
                            try await outbound.write(.text(text))
                        case .binary(let buffer):
                            try await outbound.write(.binary(buffer))
                        }
                    }
                }
            },
            configuration: .init(address: .hostname(host, port: port), backlog: Self.backlog),
            onServerRunning: { channel in
                printError("listening on \(host):\(channel.localAddress?.port ?? 0)")
            },
            eventLoopGroupProvider: .shared(group),
            logger: logger
        )
        // runService installs the SIGTERM and SIGINT handlers and returns after a graceful shutdown.
        try await app.runService()
        try await group.shutdownGracefully()
    }
}

/// One line on stderr, written whole with one call.
func printError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
