// libFuzzer entry point. Each input is fed to HandshakeParser and to FrameReceiver twice:
// whole, and cut into pieces whose sizes come from the input's first byte. Besides crashes
// and sanitizer reports, it traps when the two feeds disagree, since a parser must give the
// same result wherever the network splits its bytes.

import RingWebSocket

/// Reassembly stores of fixed capacity, allocated once; an event digest instead of a log.
struct FuzzHandler: FrameHandler {
    static let capacity = 1 << 16
    // libFuzzer calls the entry point from one thread, one input at a time.
    nonisolated(unsafe) static let dataStore = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    nonisolated(unsafe) static let controlStore = UnsafeMutableRawPointer.allocate(byteCount: 128, alignment: 16)

    var digest: UInt64 = 0xCBF2_9CE4_8422_2325
    var dataCount = 0
    var controlCount = 0

    mutating func mix(_ tag: UInt8, _ bytes: UnsafeRawBufferPointer) {
        // FNV-1a over a tag, the length and the bytes.
        for byte in [tag, UInt8(truncatingIfNeeded: bytes.count), UInt8(truncatingIfNeeded: bytes.count >> 8)] + Array(bytes) {
            digest = (digest ^ UInt64(byte)) &* 0x100_0000_01B3
        }
    }

    mutating func message(_ kind: MessageKind, _ payload: UnsafeRawBufferPointer) { mix(kind.rawValue, payload) }
    mutating func ping(_ payload: UnsafeRawBufferPointer) { mix(9, payload) }
    mutating func pong(_ payload: UnsafeRawBufferPointer) { mix(10, payload) }

    mutating func close(code: UInt16?, reason: UnsafeRawBufferPointer) {
        precondition(code.map(CloseCode.isValidOnWire) ?? true, "invalid close code delivered")
        mix(8, reason)
        digest ^= UInt64(code ?? 0)
    }

    mutating func appendPartial(_ bytes: UnsafeRawBufferPointer, control: Bool) -> Bool {
        let capacity = control ? 128 : Self.capacity
        let count = control ? controlCount : dataCount
        guard count + bytes.count <= capacity else { return false }
        if let source = bytes.baseAddress {
            ((control ? Self.controlStore : Self.dataStore) + count).copyMemory(from: source, byteCount: bytes.count)
        }
        if control { controlCount += bytes.count } else { dataCount += bytes.count }
        return true
    }

    mutating func partial(control: Bool) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: control ? Self.controlStore : Self.dataStore, count: control ? controlCount : dataCount)
    }

    mutating func resetPartial(control: Bool) {
        if control { controlCount = 0 } else { dataCount = 0 }
    }
}

/// Piece sizes from a small LCG seeded by the input, 1 to 32 bytes, or the whole input.
func pieces(count: Int, seed: UInt8, whole: Bool) -> [Range<Int>] {
    if whole { return [0..<count] }
    var state = UInt32(seed) | 1
    var ranges: [Range<Int>] = []
    var start = 0
    while start < count {
        state = state &* 1_664_525 &+ 1_013_904_223
        let end = min(count, start + Int(state >> 27) + 1)
        ranges.append(start..<end)
        start = end
    }
    return ranges
}

func runReceiver(_ input: UnsafeRawBufferPointer, seed: UInt8, whole: Bool) -> (UInt64, ReceiveOutcome) {
    var receiver = FrameReceiver()
    var handler = FuzzHandler()
    let limits = FrameLimits(maxMessageBytes: FuzzHandler.capacity / 2)
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: max(input.count, 1), alignment: 16)
    defer { scratch.deallocate() }
    var outcome = ReceiveOutcome.ok
    for range in pieces(count: input.count, seed: seed, whole: whole) {
        // Each piece in its own exact-size copy so ASan sees any read past its end.
        let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: range.count, alignment: 1)
        piece.copyMemory(from: UnsafeRawBufferPointer(rebasing: input[range]))
        outcome = receiver.receive(piece, limits: limits, handler: &handler)
        piece.deallocate()
        if outcome != .ok { break }
    }
    return (handler.digest, outcome)
}

/// The handshake step, with `consumed` turned into an offset in the whole input so that
/// whole and split feeds compare equal.
func runHandshake(_ input: UnsafeRawBufferPointer, seed: UInt8, whole: Bool) -> HandshakeStep {
    var parser = HandshakeParser(policy: HandshakePolicy(maxHeaderBytes: 1024, subprotocols: ["a", "b"]))
    for range in pieces(count: input.count, seed: seed, whole: whole) {
        let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: range.count, alignment: 1)
        piece.copyMemory(from: UnsafeRawBufferPointer(rebasing: input[range]))
        let step = parser.feed(UnsafeRawBufferPointer(piece))
        piece.deallocate()
        switch step {
        case .needMore:
            continue
        case .upgrade(let request, let consumed):
            precondition(consumed >= 0 && consumed <= range.count, "consumed out of range")
            precondition(!HandshakeResponse.switchingProtocols(for: request).isEmpty)
            return .upgrade(request, consumed: range.lowerBound + consumed)
        case .plainRequest(let request, let consumed):
            precondition(consumed >= 0 && consumed <= range.count, "consumed out of range")
            return .plainRequest(request, consumed: range.lowerBound + consumed)
        case .reject(let rejection):
            precondition(!HandshakeResponse.rejection(rejection).isEmpty)
            return step
        }
    }
    return .needMore
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let seed = data[0]
    let input = UnsafeRawBufferPointer(start: data + 1, count: size - 1)

    let (wholeDigest, wholeOutcome) = runReceiver(input, seed: seed, whole: true)
    let (splitDigest, splitOutcome) = runReceiver(input, seed: seed, whole: false)
    precondition(wholeDigest == splitDigest && wholeOutcome == splitOutcome, "frame events depend on the split")

    let wholeStep = runHandshake(input, seed: seed, whole: true)
    let splitStep = runHandshake(input, seed: seed, whole: false)
    precondition(wholeStep == splitStep, "handshake depends on the split")
    return 0
}
