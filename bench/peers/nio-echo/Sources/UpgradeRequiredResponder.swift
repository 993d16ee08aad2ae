import NIOCore
import NIOHTTP1

/// Answers a plain HTTP request (one that asked for no upgrade) with 426 Upgrade Required and closes
/// the connection, so that a request which is not a WebSocket handshake gets an answer instead of
/// silence. A successful upgrade removes this handler by `name`.
final class UpgradeRequiredResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let name = "upgrade-required"

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Wait for the end of the request so that its body is read and not mistaken for a next request.
        guard case .end = Self.unwrapInboundIn(data) else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Upgrade", value: "websocket")
        headers.add(name: "Connection", value: "close")
        headers.add(name: "Content-Length", value: "0")
        let head = HTTPResponseHead(version: .http1_1, status: .upgradeRequired, headers: headers)
        context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
