/// The gateway's events, one encoder each (docs/PROTOCOL.md, "Events"): the gateway writes
/// every event through these, and the SDK's tests write their fake gateway's through the same
/// ones and decode them with the SDK, so the two sides cannot drift apart unnoticed. Each
/// appends one whole frame; nothing here allocates beyond the writer's reused buffer.
extension LinkWriter {
    public mutating func hello(version: UInt16, maxFrame: UInt32, linkID: UInt32, gatewayID: String) {
        begin(LinkEvent.hello.rawValue)
        u16(version)
        u16(0)  // flags, 0 in version 1
        u32(maxFrame)
        u32(linkID)
        str16(gatewayID)
        end()
    }

    /// OPEN: `fields` writes what follows the flags (address, path, query, subprotocols, then
    /// the u16 count and the headers), in that order; see `openFields`.
    public mutating func open(conn: UInt64, flags: UInt8, fields: (inout LinkWriter) -> Void) {
        begin(LinkEvent.open.rawValue)
        u64(conn)
        u8(flags)
        fields(&self)
        end()
    }

    /// OPEN's fields after the flags. At most 65,535 headers go (the count is a u16): the rest
    /// are left out rather than the count wrapping.
    public mutating func openFields<Headers: Collection>(
        remote: String, path: String, query: String, protocols: String, headers: Headers
    ) where Headers.Element == (name: String, value: String) {
        str16(remote)
        str16(path)
        str16(query)
        str16(protocols)
        let count = min(headers.count, Int(UInt16.max))
        u16(UInt16(count))
        for header in headers.prefix(count) {
            str16(header.name)
            str16(header.value)
        }
    }

    public mutating func message(conn: UInt64, kind: LinkPayloadKind, payload: UnsafeRawBufferPointer) {
        begin(LinkEvent.message.rawValue)
        u64(conn)
        u8(kind.rawValue)
        raw(payload)
        end()
    }

    /// CLOSED with the close code and at most 123 bytes of reason (a close frame's limit).
    public mutating func closed(conn: UInt64, code: UInt16, reason: UnsafeRawBufferPointer) {
        begin(LinkEvent.closed.rawValue)
        u64(conn)
        u16(code)
        raw(UnsafeRawBufferPointer(rebasing: reason.prefix(123)))
        end()
    }

    public mutating func flow(conn: UInt64, slow: Bool) {
        begin(LinkEvent.flow.rawValue)
        u64(conn)
        u8(slow ? 1 : 0)
        end()
    }

    public mutating func gap(conn: UInt64, since: UInt64, evictedUpTo: UInt64, topic: String) {
        begin(LinkEvent.gap.rawValue)
        u64(conn)
        u64(since)
        u64(evictedUpTo)
        str16(topic)
        end()
    }

    public mutating func presence<IDs: Collection>(
        request: UInt32, total: Int, offset: UInt32, ids: IDs, topic: String
    ) where IDs.Element == UInt64 {
        begin(LinkEvent.presence.rawValue)
        u32(request)
        u32(UInt32(clamping: total))
        u32(offset)
        u32(UInt32(ids.count))
        for id in ids { u64(id) }
        raw(topic)
        end()
    }

    public mutating func error(code: LinkErrorCode, detail: String) {
        begin(LinkEvent.error.rawValue)
        u16(code.rawValue)
        raw(detail)
        end()
    }

    public mutating func draining(deadlineMs: UInt32) {
        begin(LinkEvent.draining.rawValue)
        u32(deadlineMs)
        end()
    }

    /// SUBSCRIBED or UNSUBSCRIBED: a client changed its own topics.
    public mutating func topicChange(conn: UInt64, subscribed: Bool, topic: UnsafeRawBufferPointer) {
        begin(subscribed ? LinkEvent.subscribed.rawValue : LinkEvent.unsubscribed.rawValue)
        u64(conn)
        raw(topic)
        end()
    }
}
