/// The worker's commands. Each returns once its frame is queued for the writer thread (or
/// waits while the gateway holds the worker back); commands about a connection that closed
/// meanwhile are ignored by the gateway, as the protocol says. They run on the caller's
/// executor (`nonisolated(nonsending)`), so an event loop on the main actor never hops.
extension BackendLink {
    /// Answers an OPEN that `needsDecision`: the client gets its 101.
    /// - Parameter subprotocol: one of the client's `protocols`, or empty for none.
    nonisolated(nonsending) public func accept(_ conn: ConnectionID, subprotocol: String = "") async throws(BackendLinkError) {
        try await commands.enqueue { WorkerCommands.accept(&$0, conn, subprotocol: subprotocol) }
    }

    /// Refuses an OPEN that `needsDecision` with an HTTP status (400–599) and a text/plain body.
    nonisolated(nonsending) public func reject(_ conn: ConnectionID, status: UInt16 = 403, body: String = "") async throws(BackendLinkError) {
        guard (400...599).contains(status) else { throw .invalidArgument("reject status \(status) is not 400-599") }
        try await commands.enqueue { WorkerCommands.reject(&$0, conn, status: status, body: body) }
    }

    nonisolated(nonsending) public func send(_ conn: ConnectionID, _ message: Message) async throws(BackendLinkError) {
        try await commands.enqueue { WorkerCommands.send(&$0, conn, message) }
    }

    nonisolated(nonsending) public func send(_ conn: ConnectionID, text: String) async throws(BackendLinkError) {
        try await send(conn, .text(text))
    }

    nonisolated(nonsending) public func send(_ conn: ConnectionID, binary: [UInt8]) async throws(BackendLinkError) {
        try await send(conn, .binary(binary))
    }

    /// One message to several connections, encoded once by the gateway (SEND_MANY).
    nonisolated(nonsending) public func send(to conns: [ConnectionID], _ message: Message) async throws(BackendLinkError) {
        guard conns.count <= Int(UInt32.max) else { throw .invalidArgument("too many connections") }
        try await commands.enqueue { WorkerCommands.sendMany(&$0, conns, message) }
    }

    nonisolated(nonsending) public func send(to conns: [ConnectionID], text: String) async throws(BackendLinkError) {
        try await send(to: conns, .text(text))
    }

    nonisolated(nonsending) public func send(to conns: [ConnectionID], binary: [UInt8]) async throws(BackendLinkError) {
        try await send(to: conns, .binary(binary))
    }

    /// Closes a connection with a WebSocket close code; the reason is cut to the 123 bytes a
    /// close frame can carry (RFC 6455 section 5.5), at a character boundary.
    nonisolated(nonsending) public func close(_ conn: ConnectionID, code: UInt16 = 1000, reason: String = "") async throws(BackendLinkError) {
        let cut = utf8Prefix(reason, maxBytes: 123)
        try await commands.enqueue { WorkerCommands.close(&$0, conn, code: code, reason: cut) }
    }

    /// Subscribes `conn` to `topic`. With `since`, the topic's kept messages numbered above it
    /// are replayed first, or a `.gap` event says they are gone.
    nonisolated(nonsending) public func subscribe(_ conn: ConnectionID, to topic: String, since: UInt64? = nil) async throws(BackendLinkError) {
        try checkTopic(topic)
        try await commands.enqueue { WorkerCommands.subscribe(&$0, conn, topic: topic, since: since) }
    }

    /// Subscribes several connections at once (SUBSCRIBE_MANY).
    nonisolated(nonsending) public func subscribe(_ conns: [ConnectionID], to topic: String) async throws(BackendLinkError) {
        try checkTopic(topic)
        try await commands.enqueue { WorkerCommands.subscribeMany(&$0, conns, topic: topic) }
    }

    nonisolated(nonsending) public func unsubscribe(_ conn: ConnectionID, from topic: String) async throws(BackendLinkError) {
        try checkTopic(topic)
        try await commands.enqueue { WorkerCommands.unsubscribe(&$0, conn, topic: topic) }
    }

    /// Sends `message` to every subscriber of `topic` on the gateway.
    /// - Parameter seq: the message's number in the topic's history (strictly increasing), or 0
    ///   to let the gateway number it.
    nonisolated(nonsending) public func publish(topic: String, _ message: Message, seq: UInt64 = 0) async throws(BackendLinkError) {
        try checkTopic(topic)
        try await commands.enqueue { WorkerCommands.publish(&$0, topic: topic, message, seq: seq) }
    }

    nonisolated(nonsending) public func publish(topic: String, text: String, seq: UInt64 = 0) async throws(BackendLinkError) {
        try await publish(topic: topic, .text(text), seq: seq)
    }

    nonisolated(nonsending) public func publish(topic: String, binary: [UInt8], seq: UInt64 = 0) async throws(BackendLinkError) {
        try await publish(topic: topic, .binary(binary), seq: seq)
    }

    /// Sends `message` to every open connection of the gateway, not only this worker's.
    nonisolated(nonsending) public func broadcast(_ message: Message) async throws(BackendLinkError) {
        try await commands.enqueue { WorkerCommands.broadcast(&$0, message) }
    }

    nonisolated(nonsending) public func broadcast(text: String) async throws(BackendLinkError) { try await broadcast(.text(text)) }

    nonisolated(nonsending) public func broadcast(binary: [UInt8]) async throws(BackendLinkError) { try await broadcast(.binary(binary)) }

    /// Sets how much history `topic` keeps; 0 and 0 keep none (the default).
    nonisolated(nonsending) public func configureTopic(_ topic: String, historyCount: UInt32, historyAgeMs: UInt32) async throws(BackendLinkError) {
        try checkTopic(topic)
        try await commands.enqueue {
            WorkerCommands.topic(&$0, topic, historyCount: historyCount, historyAgeMs: historyAgeMs)
        }
    }

    /// Asks who is subscribed to `topic`: the subscriber count over the whole gateway, and at
    /// most `limit` ids from `offset` on (an unknown topic has `total` 0).
    nonisolated(nonsending) public func presence(topic: String, offset: Int = 0, limit: Int = Int(UInt32.max)) async throws(BackendLinkError) -> Presence {
        try checkTopic(topic)
        guard let offset32 = UInt32(exactly: offset), let limit32 = UInt32(exactly: min(limit, Int(UInt32.max))) else {
            throw .invalidArgument("offset and limit must be 0...\(UInt32.max)")
        }
        let request = try presenceRequests.register()
        do {
            try await commands.enqueue(urgent: true) {
                WorkerCommands.presence(&$0, request: request, topic: topic, offset: offset32, limit: limit32)
            }
        } catch {
            presenceRequests.cancel(request)
            throw error
        }
        return try await presenceRequests.answer(request)
    }

    private func checkTopic(_ topic: String) throws(BackendLinkError) {
        let count = topic.utf8.count
        guard count >= 1, count <= LinkProtocol.maxTopicBytes else {
            throw .invalidArgument("topic must be 1-\(LinkProtocol.maxTopicBytes) bytes, got \(count)")
        }
    }
}

/// The longest prefix of `text` that fits `maxBytes` of UTF-8 without splitting a character.
func utf8Prefix(_ text: String, maxBytes: Int) -> [UInt8] {
    var bytes: [UInt8] = []
    for scalar in text.unicodeScalars {
        let encoded = Array(String(scalar).utf8)
        if bytes.count + encoded.count > maxBytes { break }
        bytes += encoded
    }
    return bytes
}
