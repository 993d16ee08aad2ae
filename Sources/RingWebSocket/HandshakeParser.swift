// Incremental reader of the HTTP upgrade request that opens every WebSocket connection
// (RFC 6455 section 4.2.1).
//
// The head is complete at its first CRLF CRLF. While it is incomplete, the bytes seen so far
// wait in a heap buffer, bounded by `maxHeaderBytes`; when a buffer holds a whole head, it is
// parsed in place with no copy. Lines must end in CRLF: a LF without a CR before it is
// refused as soon as it is seen (RFC 7230 section 3.5 allows a lenient parser, but a strict
// one leaves no room for disagreement with other parsers in the path).
//
// The step that completes the head says how many bytes of the LAST fed buffer belonged to
// the request. The rest are frames the client pipelined behind its request, and must be fed
// to a FrameReceiver, not dropped.

/// What one call to `HandshakeParser.feed` found.
public enum HandshakeStep: Sendable, Equatable {
    /// The head is not complete; feed the next buffer.
    case needMore
    /// A valid upgrade request. `consumed` bytes of the last fed buffer belong to it; the
    /// bytes after them are the first WebSocket frames.
    case upgrade(UpgradeRequest, consumed: Int)
    /// A valid GET without WebSocket headers (a health check, say). `consumed` as above.
    case plainRequest(PlainRequest, consumed: Int)
    /// A refused request; answer with `HandshakeResponse.rejection(_:)` and close.
    case reject(HandshakeRejection)
}

/// Reads one request head, in as many pieces as it arrives.
///
/// After a step other than `.needMore` the parser holds nothing and is ready for a new
/// request, so the owner may drop it or keep it.
public struct HandshakeParser {
    /// The policy the request is checked against.
    public let policy: HandshakePolicy
    /// Head bytes from earlier buffers; empty (and unallocated) unless a head is split.
    private var pending: [UInt8] = []

    /// Creates a parser.
    /// - Parameter policy: limits and choices for the request.
    public init(policy: HandshakePolicy = HandshakePolicy()) {
        self.policy = policy
    }

    /// Bytes of an incomplete head held from earlier buffers.
    public var bufferedByteCount: Int { pending.count }

    /// Feeds the next received bytes.
    /// - Parameter bytes: the bytes, valid only during the call.
    /// - Returns: the step reached; see `HandshakeStep`.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> HandshakeStep {
        let limit = policy.maxHeaderBytes
        if pending.isEmpty {
            switch Self.findEnd(bytes, from: 0, to: min(bytes.count, limit)) {
            case .end(let size):
                return Self.step(RequestHead.parse(UnsafeRawBufferPointer(rebasing: bytes[..<size]), policy: policy), consumed: size)
            case .bareLineFeed:
                return .reject(.malformed)
            case .notFound:
                if bytes.count >= limit { return .reject(.headTooLarge) }
                pending.append(contentsOf: bytes)
                return .needMore
            }
        }
        let held = pending.count
        pending.append(contentsOf: bytes.prefix(limit - held))
        let outcome: HandshakeStep = pending.withUnsafeBytes { all in
            switch Self.findEnd(all, from: held, to: all.count) {
            case .end(let size):
                return Self.step(RequestHead.parse(UnsafeRawBufferPointer(rebasing: all[..<size]), policy: policy), consumed: size - held)
            case .bareLineFeed:
                return .reject(.malformed)
            case .notFound:
                return all.count >= limit ? .reject(.headTooLarge) : .needMore
            }
        }
        if outcome != .needMore { reset() }
        return outcome
    }

    /// Forgets any partial head and releases its storage.
    public mutating func reset() {
        pending = []
    }

    enum EndSearch: Equatable {
        case end(Int)
        case bareLineFeed
        case notFound
    }

    /// Looks for the blank line that ends a head, scanning `bytes[from..<to]`; the bytes
    /// before `from` have been scanned already.
    /// - Returns: the head's size including its final CRLF CRLF, or why there is none.
    static func findEnd(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> EndSearch {
        var index = start
        while index < end {
            if bytes[index] == ASCII.lf {
                guard index > 0, bytes[index - 1] == ASCII.cr else { return .bareLineFeed }
                // Every LF so far had its CR, so "\n" two bytes back means "\r\n\r\n".
                if index >= 3, bytes[index - 2] == ASCII.lf { return .end(index + 1) }
            }
            index += 1
        }
        return .notFound
    }

    private static func step(_ outcome: HeadOutcome, consumed: Int) -> HandshakeStep {
        switch outcome {
        case .upgrade(let request): return .upgrade(request, consumed: consumed)
        case .plain(let request): return .plainRequest(request, consumed: consumed)
        case .reject(let rejection): return .reject(rejection)
        }
    }
}
