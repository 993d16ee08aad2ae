/// Encoders for the worker's commands (docs/PROTOCOL.md, "Worker → gateway: commands"), one
/// frame each. Callers check the arguments first (`BackendLink+Commands.swift`).
enum WorkerCommands {
    static func hello(_ w: inout LinkWriter, name: String) {
        w.begin(LinkCommand.hello.rawValue)
        w.u16(LinkProtocol.version)
        w.str16(name)
        w.end()
    }

    static func accept(_ w: inout LinkWriter, _ conn: ConnectionID, subprotocol: String) {
        w.begin(LinkCommand.accept.rawValue)
        w.u64(conn.rawValue)
        w.str16(subprotocol)
        w.end()
    }

    static func reject(_ w: inout LinkWriter, _ conn: ConnectionID, status: UInt16, body: String) {
        w.begin(LinkCommand.reject.rawValue)
        w.u64(conn.rawValue)
        w.u16(status)
        w.raw(body)
        w.end()
    }

    static func send(_ w: inout LinkWriter, _ conn: ConnectionID, _ message: Message) {
        w.begin(LinkCommand.send.rawValue)
        w.u64(conn.rawValue)
        payload(&w, message)
        w.end()
    }

    static func close(_ w: inout LinkWriter, _ conn: ConnectionID, code: UInt16, reason: [UInt8]) {
        w.begin(LinkCommand.close.rawValue)
        w.u64(conn.rawValue)
        w.u16(code)
        w.raw(reason)
        w.end()
    }

    static func subscribe(_ w: inout LinkWriter, _ conn: ConnectionID, topic: String, since: UInt64?) {
        w.begin(LinkCommand.subscribe.rawValue)
        w.u64(conn.rawValue)
        w.u8(since == nil ? 0 : 1)
        w.u64(since ?? 0)
        w.raw(topic)
        w.end()
    }

    static func unsubscribe(_ w: inout LinkWriter, _ conn: ConnectionID, topic: String) {
        w.begin(LinkCommand.unsubscribe.rawValue)
        w.u64(conn.rawValue)
        w.raw(topic)
        w.end()
    }

    static func publish(_ w: inout LinkWriter, topic: String, _ message: Message, seq: UInt64) {
        w.begin(LinkCommand.publish.rawValue)
        w.u8(kind(of: message).rawValue)
        w.u64(seq)
        w.str16(topic)
        body(&w, message)
        w.end()
    }

    static func broadcast(_ w: inout LinkWriter, _ message: Message) {
        w.begin(LinkCommand.broadcast.rawValue)
        payload(&w, message)
        w.end()
    }

    static func sendMany(_ w: inout LinkWriter, _ conns: [ConnectionID], _ message: Message) {
        w.begin(LinkCommand.sendMany.rawValue)
        w.u8(kind(of: message).rawValue)
        w.u32(UInt32(conns.count))
        for conn in conns { w.u64(conn.rawValue) }
        body(&w, message)
        w.end()
    }

    static func subscribeMany(_ w: inout LinkWriter, _ conns: [ConnectionID], topic: String) {
        w.begin(LinkCommand.subscribeMany.rawValue)
        w.u32(UInt32(conns.count))
        for conn in conns { w.u64(conn.rawValue) }
        w.raw(topic)
        w.end()
    }

    static func presence(_ w: inout LinkWriter, request: UInt32, topic: String, offset: UInt32, limit: UInt32) {
        w.begin(LinkCommand.presence.rawValue)
        w.u32(request)
        w.u32(offset)
        w.u32(limit)
        w.raw(topic)
        w.end()
    }

    static func topic(_ w: inout LinkWriter, _ topic: String, historyCount: UInt32, historyAgeMs: UInt32) {
        w.begin(LinkCommand.topic.rawValue)
        w.u32(historyCount)
        w.u32(historyAgeMs)
        w.raw(topic)
        w.end()
    }

    /// `u8 kind, rest payload`.
    private static func payload(_ w: inout LinkWriter, _ message: Message) {
        w.u8(kind(of: message).rawValue)
        body(&w, message)
    }

    private static func kind(of message: Message) -> LinkPayloadKind {
        if case .text = message { return .text }
        return .binary
    }

    private static func body(_ w: inout LinkWriter, _ message: Message) {
        switch message {
        case .text(let text): w.raw(text)
        case .binary(let bytes): w.raw(bytes)
        }
    }
}
