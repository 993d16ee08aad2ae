// A FrameHandler that records events, plus feeders that push a byte stream through a
// FrameReceiver in chosen pieces. Every test compares recorded events, so "the same input
// split differently gives the same events" is a plain equality check.

import RingWebSocket

/// One observable result of feeding a receiver.
enum Event: Equatable, CustomStringConvertible {
    case message(MessageKind, [UInt8])
    case ping([UInt8])
    case pong([UInt8])
    case close(UInt16?, [UInt8])
    case fail(CloseCode)

    static func text(_ string: String) -> Event { .message(.text, Array(string.utf8)) }

    var description: String {
        switch self {
        case .message(let kind, let bytes): return "message(\(kind), \(bytes.count) bytes)"
        case .ping(let bytes): return "ping(\(bytes))"
        case .pong(let bytes): return "pong(\(bytes))"
        case .close(let code, let reason): return "close(\(code.map(String.init) ?? "nil"), \(reason))"
        case .fail(let code): return "fail(\(code.rawValue))"
        }
    }
}

/// Growable bytes with a stable address between appends, like the gateway's pooled
/// reassembly buffers.
final class ByteStore {
    private(set) var base: UnsafeMutableRawPointer?
    private(set) var count = 0
    private var capacity = 0

    func append(_ bytes: UnsafeRawBufferPointer) {
        if count + bytes.count > capacity {
            let grown = max(64, capacity * 2, count + bytes.count)
            let fresh = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 16)
            if let base {
                fresh.copyMemory(from: base, byteCount: count)
                base.deallocate()
            }
            base = fresh
            capacity = grown
        }
        if let source = bytes.baseAddress { (base! + count).copyMemory(from: source, byteCount: bytes.count) }
        count += bytes.count
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    func reset() {
        base?.deallocate()
        base = nil
        count = 0
        capacity = 0
    }

    deinit { base?.deallocate() }
}

/// Records events; reassembly stores are optionally capped.
struct RecordingHandler: FrameHandler {
    var events: [Event] = []
    let data = ByteStore()
    let control = ByteStore()
    var appendCalls = 0
    var dataCapacity = Int.max
    var controlCapacity = Int.max

    mutating func message(_ kind: MessageKind, _ payload: UnsafeRawBufferPointer) {
        events.append(.message(kind, Array(payload)))
    }

    mutating func ping(_ payload: UnsafeRawBufferPointer) { events.append(.ping(Array(payload))) }

    mutating func pong(_ payload: UnsafeRawBufferPointer) { events.append(.pong(Array(payload))) }

    mutating func close(code: UInt16?, reason: UnsafeRawBufferPointer) {
        events.append(.close(code, Array(reason)))
    }

    mutating func appendPartial(_ bytes: UnsafeRawBufferPointer, control isControl: Bool) -> Bool {
        appendCalls += 1
        if isControl {
            guard control.count + bytes.count <= controlCapacity else { return false }
            control.append(bytes)
        } else {
            guard data.count + bytes.count <= dataCapacity else { return false }
            data.append(bytes)
        }
        return true
    }

    mutating func partial(control isControl: Bool) -> UnsafeRawBufferPointer {
        (isControl ? control : data).bytes
    }

    mutating func resetPartial(control isControl: Bool) {
        (isControl ? control : data).reset()
    }
}

/// Feeds `stream` cut at `cuts` (sorted offsets) to a fresh receiver.
func feed(
    _ stream: [UInt8], cuts: [Int] = [], limits: FrameLimits = FrameLimits(),
    handler: RecordingHandler = RecordingHandler()
) -> RecordingHandler {
    var receiver = FrameReceiver()
    var handler = handler
    var start = 0
    for end in cuts + [stream.count] where end >= start {
        // A fresh copy per piece: the receiver unmasks in place.
        var piece = Array(stream[start..<end])
        start = end
        let outcome = piece.withUnsafeMutableBytes { receiver.receive($0, limits: limits, handler: &handler) }
        if case .fail(let code) = outcome {
            handler.events.append(.fail(code))
            break
        }
    }
    return handler
}

/// Events for `stream` fed whole.
func events(_ stream: [UInt8], limits: FrameLimits = FrameLimits()) -> [Event] {
    feed(stream, limits: limits).events
}

/// The cut lists every split-point test runs: whole, every single cut, byte by byte, and
/// every pair of cuts when the stream is short.
func splitPlans(for count: Int, pairsUpTo pairLimit: Int = 40) -> [[Int]] {
    var plans: [[Int]] = [[]]
    for cut in 1..<max(count, 1) { plans.append([cut]) }
    if count > 1 { plans.append(Array(1..<count)) }
    if count <= pairLimit {
        for first in 1..<max(count, 1) {
            for second in (first + 1)..<max(count, first + 1) { plans.append([first, second]) }
        }
    }
    return plans
}

/// A client frame built by hand, independent of FrameEncoder, so malformed frames can be
/// made too.
func clientFrame(
    _ opcode: UInt8, fin: Bool = true, rsv: UInt8 = 0, masked: Bool = true,
    payload: [UInt8], maskKey: [UInt8] = [0x37, 0xFA, 0x21, 0x3D], lengthForm: Int? = nil
) -> [UInt8] {
    var bytes: [UInt8] = [(fin ? 0x80 : 0) | rsv << 4 | opcode]
    let maskBit: UInt8 = masked ? 0x80 : 0
    let form = lengthForm ?? (payload.count < 126 ? 0 : payload.count <= 0xFFFF ? 2 : 8)
    switch form {
    case 0:
        bytes.append(maskBit | UInt8(payload.count))
    case 2:
        bytes.append(maskBit | 126)
        bytes += [UInt8(payload.count >> 8 & 0xFF), UInt8(payload.count & 0xFF)]
    default:
        bytes.append(maskBit | 127)
        bytes += (0..<8).reversed().map { UInt8(UInt64(payload.count) >> (8 * UInt64($0)) & 0xFF) }
    }
    if masked {
        bytes += maskKey
        bytes += payload.enumerated().map { $0.element ^ maskKey[$0.offset % 4] }
    } else {
        bytes += payload
    }
    return bytes
}

func clientFrame(_ opcode: UInt8, fin: Bool = true, text: String) -> [UInt8] {
    clientFrame(opcode, fin: fin, payload: Array(text.utf8))
}

/// Close frame payload: code then reason.
func closePayload(_ code: UInt16, _ reason: [UInt8] = []) -> [UInt8] {
    [UInt8(code >> 8), UInt8(code & 0xFF)] + reason
}

/// A deterministic generator (SplitMix64) so randomized tests repeat exactly.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
