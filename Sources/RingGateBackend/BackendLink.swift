/// One worker's link to a RingGate gateway.
///
/// ```swift
/// let link = try await BackendLink.connect(path: "/run/ringgate.sock", name: "echo-1")
/// for await event in link.events {
///     switch event {
///     case .open(let request) where request.needsDecision: try await link.accept(request.conn)
///     case .message(let conn, let message): try await link.send(conn, message)
///     default: break
///     }
/// }
/// ```
///
/// Two threads of its own do the socket work: a reader that parses frames and feeds `events`,
/// and a writer that batches commands. The async methods only append to the writer's buffer,
/// so they return at once unless the gateway is holding the worker back.
public final class BackendLink: Sendable {
    /// The name sent in HELLO; the gateway's `--route hash:...` hashes it.
    public let name: String
    public let gateway: GatewayHello
    /// Every event, in order; ends when the link closes (after `.failed` when it broke).
    public let events: BackendEvents

    let commands: CommandQueue
    let presenceRequests = PresenceRequests()
    private let socket: UnixSocket
    private let channel: EventChannel

    /// Connects to the gateway's backend socket at `path` and exchanges HELLOs.
    /// - Parameters:
    ///   - name: this worker's name; give each worker a distinct, stable one.
    ///   - eventBuffer: events kept for the application before the link stops reading.
    ///   - commandBufferBytes: command bytes kept before the async methods wait for the writer.
    public static func connect(
        path: String, name: String, eventBuffer: Int = 4096, commandBufferBytes: Int = 1 << 20
    ) async throws(BackendLinkError) -> BackendLink {
        let socket = try UnixSocket.connect(path: path)
        let handshake = await LinkThread.run { Result { () throws(BackendLinkError) in try exchangeHellos(socket, name: name) } }
        switch handshake {
        case .success(let (hello, leftover)):
            return BackendLink(socket: socket, name: name, hello: hello, leftover: leftover,
                               eventBuffer: eventBuffer, commandBufferBytes: commandBufferBytes)
        case .failure(let error):
            socket.close()
            throw error
        }
    }

    private init(socket: UnixSocket, name: String, hello: GatewayHello, leftover: FrameBuffer,
                 eventBuffer: Int, commandBufferBytes: Int) {
        self.socket = socket
        self.name = name
        self.gateway = hello
        // The channel and the queue point at each other through these two closures, so the
        // answers to a batch of events leave in one write (CommandQueue).
        let commandsBox = Box<CommandQueue>()
        let channel = EventChannel(capacity: eventBuffer) { commandsBox.value?.flush() }
        self.channel = channel
        self.events = BackendEvents(channel: channel)
        self.commands = CommandQueue(highWaterBytes: commandBufferBytes, maxFrame: hello.maxFrame) { channel.hasQueuedEvents }
        commandsBox.value = commands
        let writer = LinkThread { [commands] in commands.writeLoop(to: socket) }
        _ = LinkThread { [self] in
            let ending = readLoop(leftover)
            finish(ending, writer: writer)
        }
    }

    /// Sends what is queued, then closes the link; `events` ends once the gateway closes its side.
    /// Events not consumed yet are dropped.
    public func disconnect() {
        channel.discard()
        commands.drainAndStop()
    }

    /// Reads until the stream ends or breaks; returns why it broke, nil for a clean end.
    private func readLoop(_ leftover: FrameBuffer) -> BackendLinkError? {
        var frames = leftover
        var scratch = [UInt8](repeating: 0, count: 64 << 10)
        do throws(BackendLinkError) {
            try deliver(&frames)
            while true {
                let count = scratch.withUnsafeMutableBytes { socket.read(into: $0) }
                if count == 0 { return nil }
                if count < 0 { return commands.failureReason == nil ? .io(errno: Int32(-count)) : nil }
                scratch.withUnsafeBytes { frames.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                try deliver(&frames)
            }
        } catch {
            return error
        }
    }

    /// Decodes every whole frame and hands the events to the channel in one batch.
    private func deliver(_ frames: inout FrameBuffer) throws(BackendLinkError) {
        var batch: [BackendEvent] = []
        defer { channel.push(batch) }
        try frames.takeFrames(maxFrame: gateway.maxFrame) { type, body throws(BackendLinkError) in
            switch try InboundFrame.decode(type: type, body: body) {
            case .event(let event):
                batch.append(event)
            case .presence(let request, let part):
                if !presenceRequests.deliver(request: request, answer: part) {
                    batch.append(.presence(part, request: request))
                }
            case .error(let code, let message):
                throw .gateway(code: code, message: message)
            case .hello:
                throw .protocolViolation("second HELLO")
            }
            return true
        }
    }

    /// The reader is done: stop the writer, fail what waits, report, release the socket.
    private func finish(_ readError: BackendLinkError?, writer: LinkThread) {
        let reason = readError ?? commands.failureReason
        commands.fail(reason ?? .linkClosed)
        socket.shutdown()
        presenceRequests.failAll(reason ?? .linkClosed)
        channel.finish(last: reason.map(BackendEvent.failed))
        writer.join()
        socket.close()
    }
}

/// Reads the gateway's HELLO, checks its version, and answers with ours. Blocking: runs on a
/// thread of its own. Returns the HELLO and any bytes that followed it.
private func exchangeHellos(_ socket: UnixSocket, name: String) throws(BackendLinkError) -> (GatewayHello, FrameBuffer) {
    var frames = FrameBuffer()
    var scratch = [UInt8](repeating: 0, count: 4096)
    var hello: GatewayHello?
    while hello == nil {
        let count = scratch.withUnsafeMutableBytes { socket.read(into: $0) }
        if count == 0 { throw .handshake("the gateway closed the link before HELLO") }
        if count < 0 { throw .io(errno: Int32(-count)) }
        scratch.withUnsafeBytes { frames.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        try frames.takeFrames(maxFrame: LinkProtocol.defaultMaxFrame) { type, body throws(BackendLinkError) in
            switch try InboundFrame.decode(type: type, body: body) {
            case .hello(let announced): hello = announced
            case .error(let code, let message): throw .gateway(code: code, message: message)
            default: throw .handshake("expected HELLO, got frame type \(type)")
            }
            return false
        }
    }
    guard let hello, hello.version == LinkProtocol.version else {
        throw .handshake("gateway speaks version \(hello?.version ?? 0), this SDK \(LinkProtocol.version)")
    }
    var writer = LinkWriter()
    WorkerCommands.hello(&writer, name: name)
    let error = writer.bytes.withUnsafeBytes { socket.writeAll($0) }
    if error != 0 { throw .io(errno: error) }
    return (hello, frames)
}

/// Set once after init; read from other threads only after that.
private final class Box<Value: Sendable>: @unchecked Sendable {
    var value: Value?
}
