// Payload handling: the zero-copy path for frames that arrived whole, the streaming path
// through the handler's reassembly storage for everything else, and delivery of control
// frames (RFC 6455 sections 5.4, 5.5 and 8.1).

extension FrameReceiver {
    /// Starts a frame whose header has just been consumed from the buffer.
    @inlinable
    mutating func beginFrame<H: FrameHandler>(
        _ header: Header, _ base: UnsafeMutableRawPointer, _ count: Int, _ offset: inout Int,
        _ handler: inout H
    ) -> ProtocolViolation? {
        let isControl = header.opcode & 0x8 != 0
        let wholeInBuffer = header.length <= UInt64(count - offset)
        if wholeInBuffer && (isControl || (header.fin && header.opcode != Opcode.continuation.rawValue)) {
            let length = Int(header.length)
            let start = base + offset
            _ = Masking.apply(start, count: length, key: header.maskKey)
            offset += length
            let payload = UnsafeRawBufferPointer(start: start, count: length)
            if isControl {
                return deliverControl(header.opcode, payload, &handler)
            }
            if header.opcode == MessageKind.text.rawValue {
                var validator = UTF8Validator()
                if !validator.validate(payload) || !validator.isComplete { return .invalidUTF8 }
            }
            handler.message(MessageKind(rawValue: header.opcode)!, payload)
            return nil
        }
        if !isControl {
            if header.opcode != Opcode.continuation.rawValue {
                messageOpcode = header.opcode
                utf8 = UTF8Validator()
            }
            messageBytes += header.length
        }
        frameBits = header.opcode | (header.fin ? 0x80 : 0)
        words = (header.length, UInt64(header.maskKey))
        phase = .payload
        return header.length == 0 ? finishFrame(&handler) : nil
    }

    /// Unmasks and stores as much of the current frame's payload as the buffer holds.
    @inlinable
    mutating func readPayload<H: FrameHandler>(
        _ base: UnsafeMutableRawPointer, _ count: Int, _ offset: inout Int, _ handler: inout H
    ) -> ProtocolViolation? {
        let take = Int(min(words.0, UInt64(count - offset)))
        let start = base + offset
        words.1 = UInt64(Masking.apply(start, count: take, key: UInt32(truncatingIfNeeded: words.1)))
        words.0 -= UInt64(take)
        offset += take
        let chunk = UnsafeRawBufferPointer(start: start, count: take)
        if frameBits & 0x8 != 0 {
            if !handler.appendPartial(chunk, control: true) { return .controlStorageExhausted }
        } else {
            // Validate before storing so a bad byte fails the connection at once.
            if messageOpcode == MessageKind.text.rawValue, !utf8.validate(chunk) { return .invalidUTF8 }
            if !handler.appendPartial(chunk, control: false) { return .messageStorageExhausted }
        }
        return words.0 == 0 ? finishFrame(&handler) : nil
    }

    /// Completes the frame in payload phase once all its bytes are stored.
    @inlinable
    mutating func finishFrame<H: FrameHandler>(_ handler: inout H) -> ProtocolViolation? {
        phase = .header
        words = (0, 0)
        let opcode = frameBits & 0x0F
        if opcode & 0x8 != 0 {
            let payload = handler.partial(control: true)
            let problem = deliverControl(opcode, payload, &handler)
            handler.resetPartial(control: true)
            return problem
        }
        guard frameBits & 0x80 != 0 else { return nil }
        if messageOpcode == MessageKind.text.rawValue, !utf8.isComplete { return .invalidUTF8 }
        let kind = MessageKind(rawValue: messageOpcode)!
        messageOpcode = 0
        messageBytes = 0
        let payload = handler.partial(control: false)
        handler.message(kind, payload)
        handler.resetPartial(control: false)
        return nil
    }

    /// Validates and reports a complete control frame.
    @inlinable
    mutating func deliverControl<H: FrameHandler>(
        _ opcode: UInt8, _ payload: UnsafeRawBufferPointer, _ handler: inout H
    ) -> ProtocolViolation? {
        switch opcode {
        case Opcode.ping.rawValue:
            handler.ping(payload)
        case Opcode.pong.rawValue:
            handler.pong(payload)
        default:
            if payload.count == 0 {
                handler.close(code: nil, reason: payload)
            } else {
                if payload.count == 1 { return .closePayloadTooShort }
                let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
                if !CloseCode.isValidOnWire(code) { return .invalidCloseCode }
                let reason = UnsafeRawBufferPointer(rebasing: payload[2...])
                var validator = UTF8Validator()
                if !validator.validate(reason) || !validator.isComplete { return .invalidCloseReasonUTF8 }
                handler.close(code: code, reason: reason)
            }
            phase = .closed
        }
        return nil
    }
}
