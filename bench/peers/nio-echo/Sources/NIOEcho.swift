import ArgumentParser
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A WebSocket echo server on SwiftNIO's standard HTTP/1 server pipeline, kept only for
/// side-by-side benchmarks against ringgate. Every path upgrades; a plain HTTP request gets 426.
@main
struct NIOEcho: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nio-echo",
        abstract: "SwiftNIO WebSocket echo server (benchmark peer)."
    )

    /// Largest message accepted, matching ringgate's default `--max-message-size`.
    static let maxMessageBytes = 16 << 20
    /// Listen backlog, matching ringgate's.
    static let backlog: Int32 = 4096

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port to bind; 0 picks a free one.") var port = 8080
    @Option(help: "Event loop threads.") var threads = 1

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
    }

    func run() throws {
        // Block SIGTERM and SIGINT before any thread starts: every thread inherits the mask, so the
        // signals stay pending for the sigwait below instead of going to whichever thread the
        // kernel picks.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: Self.maxMessageBytes,
            shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        BackPressureHandler(),
                        NIOWebSocketFrameAggregator(
                            minNonFinalFragmentSize: 0,
                            maxAccumulatedFrameCount: Int.max,
                            maxAccumulatedFrameSize: Self.maxMessageBytes
                        ),
                        EchoHandler()
                    )
                }
            }
        )

        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: Self.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (
                            upgraders: [upgrader],
                            completionHandler: { context in
                                context.pipeline.removeHandler(name: UpgradeRequiredResponder.name, promise: nil)
                            }
                        )
                    )
                    try channel.pipeline.syncOperations.addHandler(
                        UpgradeRequiredResponder(),
                        name: UpgradeRequiredResponder.name
                    )
                }
            }

        let server = try bootstrap.bind(host: host, port: port).wait()
        let boundPort = server.localAddress?.port ?? port
        printError("listening on \(host):\(boundPort)")

        // SIGTERM or SIGINT: close the listener, then the open connections with the loops; exit 0.
        var received: Int32 = 0
        sigwait(&stopSignals, &received)
        try? server.close().wait()
        try group.syncShutdownGracefully()
    }
}

/// One line on stderr, written whole with one call.
func printError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
