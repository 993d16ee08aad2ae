import NIOCore
import NIOWebSocket

/// Echoes every text and binary message back with its own opcode, answers each ping with a pong
/// carrying the same payload, and answers a close with a close carrying the peer's status code.
///
/// It sits after a `NIOWebSocketFrameAggregator`, so it sees whole messages and control frames,
/// never a continuation frame. Replies are written as frames arrive and flushed once per read
/// batch (`channelReadComplete`), the usual way to let one syscall carry many frames.
final class EchoHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// Set once our close frame is queued; after that, data and pings are ignored (RFC 6455 5.5.1).
    private var closeSent = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary:
            guard !closeSent else { return }
            let reply = WebSocketFrame(fin: true, opcode: frame.opcode, data: frame.unmaskedData)
            context.write(Self.wrapOutboundOut(reply), promise: nil)
        case .ping:
            guard !closeSent else { return }
            let reply = WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)
            context.write(Self.wrapOutboundOut(reply), promise: nil)
        case .pong:
            break
        case .connectionClose:
            answerClose(context: context, frame: frame)
        default:
            // Reserved opcodes (3-7, 0xB-0xF): nothing was negotiated that would give them a meaning.
            sendCloseThenShut(context: context, status: .protocolError)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    /// Frame-level errors (oversized or malformed messages from the aggregator) end the connection
    /// with the matching status; the decoder's own errors are answered by NIO's protocol error
    /// handler before they get here.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOWebSocketFrameAggregator.Error {
            sendCloseThenShut(context: context, status: .messageTooLarge)
        } else {
            context.close(promise: nil)
        }
    }

    /// The peer started the closing handshake, or answered ours: echo its status code (an empty body
    /// stays empty), then close the TCP connection once the reply is out, as the server should.
    private func answerClose(context: ChannelHandlerContext, frame: WebSocketFrame) {
        if closeSent {
            context.close(promise: nil)
            return
        }
        var body = frame.unmaskedData
        switch body.readableBytes {
        case 0:
            sendCloseThenShut(context: context, body: body)
        case 1:
            // A one-byte body cannot hold a status code.
            sendCloseThenShut(context: context, status: .protocolError)
        default:
            let status = body.readSlice(length: 2)!
            sendCloseThenShut(context: context, body: status)
        }
    }

    private func sendCloseThenShut(context: ChannelHandlerContext, status: WebSocketErrorCode) {
        var body = context.channel.allocator.buffer(capacity: 2)
        body.write(webSocketErrorCode: status)
        sendCloseThenShut(context: context, body: body)
    }

    private func sendCloseThenShut(context: ChannelHandlerContext, body: ByteBuffer) {
        guard !closeSent else { return }
        closeSent = true
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: body)
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(frame)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
