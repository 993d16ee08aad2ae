import RingTopics
import RingGateProtocol

/// Records the hub queues for a gateway thread (internal, not the wire protocol):
/// validated commands with topic names already turned into ids. Each is one
/// length-prefixed frame built with `LinkWriter`; fields follow the kind.
enum InboxRecord: UInt8 {
    /// u16 link, u64 conn, str16 subprotocol
    case accept = 1
    /// u16 link, u64 conn, u16 status, rest body
    case reject
    /// u16 link, u64 conn, u8 kind, rest payload
    case send
    /// u16 link, u64 conn, u16 code, rest reason
    case close
    /// u16 link, u64 conn, u32 topic, u8 hasSince, u64 since, u64 upTo
    case subscribe
    /// u16 link, u64 conn, u32 topic
    case unsubscribe
    /// u32 topic (0: every connection), u64 retained SharedFrame
    case fanout
    /// u16 link, u8 kind, u32 n, n × u64 conn, rest payload
    case sendMany
    /// u16 link, u32 topic, u64 upTo, u32 n, n × u64 conn
    case subscribeMany
    /// u16 link: the link failed; move or close its connections
    case linkDown
    /// u64 retained PresenceCollector, u32 topic, u32 start, u32 take
    case presence
    /// u32 deadline ms: tell every link's connections nothing; the gateway drains
    case draining
}
