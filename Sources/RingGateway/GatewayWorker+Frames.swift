import RingEngine
import RingTopics
import RingTimers
import RingWebSocket

extension GatewayWorker {
    /// Runs received bytes through the connection's frame receiver.
    func frames(_ slot: UInt32, _ buffer: UnsafeMutableRawBufferPointer) {
        if receivers[slot].violation != nil {
            // The connection failed (RFC 6455 section 7.1.7) and its bytes are no longer parsed;
            // whatever arrives is the peer's answer to our close frame, so the wait is over.
            worker.close(id(slot), .flush)
            return
        }
        var sink = FrameSink(owner: self, slot: slot)
        let outcome = receivers.pointer(slot).pointee.receive(buffer, limits: limits.frames, handler: &sink)
        if case .fail = outcome, states[slot].phase == .open {
            counters.protocolErrors += 1
            let violation = receivers[slot].violation
            closeWithFrame(slot) { buffer in
                if let violation { return FrameEncoder.writeClose(into: buffer, for: violation) }
                return FrameEncoder.writeClose(into: buffer, code: CloseCode.protocolError.rawValue, reason: UnsafeRawBufferPointer(start: nil, count: 0))
            }
        }
    }

    /// Sends one unfragmented data frame: its header, written on the stack, and the payload are
    /// copied into the send queue in one call into the core, which also applies the queue limit
    /// (it bounds what waits behind earlier data, so one message larger than the limit still goes
    /// out to a client that keeps up). A full queue is the slow-client policy's to handle
    /// (GatewayWorker+SlowClients.swift); a dry send pool is waited out (GatewayWorker+SendPool.swift).
    @discardableResult
    func sendFrame(_ slot: UInt32, _ opcode: Opcode, _ payload: UnsafeRawBufferPointer) -> Bool {
        if poolWait.holds(slot) { return owe(slot, .copy(encodedFrame(opcode, payload)), payload: payload.count) }
        let connection = id(slot)
        let header = FrameEncoder.headerSize(payloadLength: payload.count)
        var headerBytes: (UInt64, UInt64) = (0, 0)  // FrameEncoder.maxHeaderSize fits
        var result = withUnsafeMutableBytes(of: &headerBytes) { scratch in
            FrameEncoder.writeHeader(into: scratch.baseAddress!, opcode: opcode, fin: true, payloadLength: payload.count)
            return worker.sendMessage(connection, UnsafeRawBufferPointer(rebasing: scratch[..<header]), payload)
        }
        if result >= 0 { return sent(slot, payload.count, queued: result) }
        if SendRefusal(queuedOrError: result) == .full, makeRoom(slot, for: header + payload.count) {
            result = withUnsafeBytes(of: &headerBytes) { scratch in
                worker.sendMessage(connection, UnsafeRawBufferPointer(rebasing: scratch[..<header]), payload)
            }
            if result >= 0 { return sent(slot, payload.count, queued: result) }
        }
        switch SendRefusal(queuedOrError: result) {
        case .poolDry: return owe(slot, .copy(encodedFrame(opcode, payload)), payload: payload.count)
        case .full: return overflow(slot)
        case .stale, .closing: return false
        }
    }

    /// A data message was queued: counted, and its client paused when its queue is past half.
    @inline(__always)
    private func sent(_ slot: UInt32, _ payloadCount: Int, queued: Int) -> Bool {
        counters.messagesOut += 1
        counters.bytesOut += UInt64(payloadCount)
        if sendQueue.pausesReading(queued: queued) { pause(slot) }
        return true
    }

    /// Queues a frame encoded once for many recipients (a fan-out or topic history) by
    /// reference: the core's send queue points at the shared bytes instead of copying them.
    @discardableResult
    func sendShared(_ slot: UInt32, _ frame: SharedFrame) -> Bool {
        let connection = id(slot)
        if poolWait.holds(slot) { return owe(slot, .shared(frame), payload: frame.payloadCount) }
        switch worker.sendShared(connection, frame.shared) {
        case nil: break
        case .poolDry: return owe(slot, .shared(frame), payload: frame.payloadCount)
        case .full:
            guard makeRoom(slot, for: frame.bytes.count), worker.sendShared(connection, frame.shared) == nil else { return overflow(slot) }
        case .stale, .closing: return false
        }
        counters.messagesOut += 1
        counters.bytesOut += UInt64(frame.payloadCount)
        return true
    }

    /// `closeWithFrame` for a close the gateway starts, with a constant reason.
    func closeWithFrame(_ slot: UInt32, code: CloseCode, reason: StaticString) {
        closeWithFrame(slot) { buffer in
            FrameEncoder.writeClose(
                into: buffer, code: code.rawValue,
                reason: UnsafeRawBufferPointer(start: reason.utf8Start, count: reason.utf8CodeUnitCount)
            )
        }
    }

    /// Sends a control frame (ping, pong) even past the per-connection queue limit.
    @discardableResult
    func sendControlFrame(_ slot: UInt32, _ opcode: Opcode, _ payload: UnsafeRawBufferPointer) -> Bool {
        withUnsafeTemporaryAllocation(byteCount: 2 + FrameEncoder.maxControlPayload, alignment: 8) { scratch in
            let size = FrameEncoder.writeControl(into: scratch, opcode: opcode, payload: payload)
            let frame = UnsafeRawBufferPointer(rebasing: scratch[..<size])
            if poolWait.holds(slot) { return owe(slot, .copy(Array(frame))) }
            switch worker.sendControl(id(slot), frame) {
            case nil: return true
            case .poolDry?: return owe(slot, .copy(Array(frame)))
            case .full?, .stale?, .closing?: return false
            }
        }
    }

    /// Queues a close frame built by `write` and closes once it is flushed. When the peer's
    /// close has arrived the handshake is complete and the socket closes right after the
    /// flush (RFC 6455 section 7.1.1: the server closes first); otherwise the gateway keeps
    /// reading for the peer's answer, bounded by the close timeout.
    func closeWithFrame(_ slot: UInt32, peerClosed: Bool = false, _ write: (UnsafeMutableRawBufferPointer) -> Int) {
        let state = states.pointer(slot)
        if !state.pointee.flags.contains(.closeSent) {
            withUnsafeTemporaryAllocation(byteCount: 2 + FrameEncoder.maxControlPayload, alignment: 8) { scratch in
                let frame = UnsafeRawBufferPointer(rebasing: scratch[..<write(scratch)])
                if poolWait.holds(slot) || worker.sendControl(id(slot), frame) == .poolDry { _ = owe(slot, .copy(Array(frame))) }
            }
            state.pointee.flags.insert(.closeSent)
        }
        state.pointee.phase = .closing
        closeAfterOwed(slot, peerClosed ? .flush : .linger)
        wheel.schedule(slot, at: now &+ limits.closeTicks)
    }
}

/// The frame receiver's view of one connection: an adapter that hands each event to the
/// worker's handler for it (`clientMessage`, `clientPing`, `clientClosed`) and keeps split
/// messages in the worker's reassembly pool. It decides nothing itself.
struct FrameSink: FrameHandler {
    // Unmanaged, called through `_withUnsafeGuaranteedRef`: the worker outlives every receive,
    // and an `unowned(unsafe)` reference was still retained and released around each call
    // (two atomic operations per message, 10 % of the echo path's user time in perf).
    let owner: Unmanaged<GatewayWorker>
    let slot: UInt32

    init(owner: GatewayWorker, slot: UInt32) {
        self.owner = Unmanaged.passUnretained(owner)
        self.slot = slot
    }

    mutating func message(_ kind: MessageKind, _ payload: UnsafeRawBufferPointer) {
        owner._withUnsafeGuaranteedRef { $0.clientMessage(slot, kind, payload) }
    }

    mutating func ping(_ payload: UnsafeRawBufferPointer) {
        owner._withUnsafeGuaranteedRef { $0.clientPing(slot, payload) }
    }

    mutating func pong(_: UnsafeRawBufferPointer) {
        owner._withUnsafeGuaranteedRef { $0.counters.pongsReceived += 1 }
    }

    mutating func close(code: UInt16?, reason: UnsafeRawBufferPointer) {
        owner._withUnsafeGuaranteedRef { $0.clientClosed(slot, code: code, reason: reason) }
    }

    mutating func appendPartial(_ bytes: UnsafeRawBufferPointer, control: Bool) -> Bool {
        owner._withUnsafeGuaranteedRef { $0.partials.append(slot, bytes, control: control) }
    }

    mutating func partial(control: Bool) -> UnsafeRawBufferPointer {
        owner._withUnsafeGuaranteedRef { $0.partials.bytes(slot, control: control) }
    }

    mutating func resetPartial(control: Bool) {
        owner._withUnsafeGuaranteedRef { $0.partials.reset(slot, control: control) }
    }
}

extension GatewayWorker {
    /// A whole data message from the client: counted, rate-checked, then a client topic
    /// command, a MESSAGE for its worker, or the demo application's.
    func clientMessage(_ slot: UInt32, _ kind: MessageKind, _ payload: UnsafeRawBufferPointer) {
        counters.messagesIn += 1
        counters.bytesIn += UInt64(payload.count)
        let state = states.pointer(slot)
        state.pointee.lastMessageTick = now
        guard state.pointee.phase == .open else { return }
        if rates != nil, !withinRate(slot, bytes: payload.count) { return }
        let link = state.pointee.link
        if link != 0, !clientTopicPrefixes.isEmpty, kind == .text, ClientTopicCommand.isCommand(payload) {
            clientTopicCommand(slot, payload)
        } else if link != 0 {
            if let routed = routedLink(slot) { forwardMessage(slot, routed, kind, payload) }
        } else {
            application.message(kind, payload, slot: slot, gateway: self)
        }
    }

    /// A ping: answered with a pong carrying the same payload (RFC 6455 section 5.5.3).
    func clientPing(_ slot: UInt32, _ payload: UnsafeRawBufferPointer) {
        guard states[slot].phase == .open else { return }
        sendControlFrame(slot, .pong, payload)
    }

    /// The client's close frame: its worker hears CLOSED, and the client gets the same code
    /// back (RFC 6455 section 5.5.1); the TCP close follows the flush. A close the client starts
    /// counts as its own; one answering the gateway's (a drain, a rate limit, a protocol error)
    /// was counted under that reason already, so the reasons add up.
    func clientClosed(_ slot: UInt32, code: UInt16?, reason: UnsafeRawBufferPointer) {
        if !states[slot].flags.contains(.closeSent) { counters.closedByClient += 1 }
        reportClosed(slot, code: code ?? CloseCode.noStatusReceived.rawValue, reason: reason)
        closeWithFrame(slot, peerClosed: true) { buffer in
            FrameEncoder.writeClose(into: buffer, code: code, reason: UnsafeRawBufferPointer(start: nil, count: 0))
        }
    }
}
