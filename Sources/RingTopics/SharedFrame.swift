package import RingEngine
package import RingWebSocket

/// One WebSocket frame encoded once for a whole fan-out (and kept in topic
/// history). Its bytes are `SharedBytes`, which every recipient's send queue
/// references instead of copying; the core frees them when the last queue has
/// sent them and this object is gone.
package final class SharedFrame: @unchecked Sendable {
    // @unchecked: the bytes are written once in init and only read afterwards;
    // the core's reference count is atomic.
    package let shared: SharedBytes
    /// Payload bytes (the frame minus its header), for counters.
    package let payloadCount: Int

    package init(opcode: Opcode, payload: UnsafeRawBufferPointer) {
        let header = FrameEncoder.headerSize(payloadLength: payload.count)
        guard let made = SharedBytes(count: header + payload.count) else {
            fatalError("out of memory for a \(payload.count)-byte shared frame")
        }
        shared = made
        let bytes = made.bytes.baseAddress!
        FrameEncoder.writeHeader(into: bytes, opcode: opcode, fin: true, payloadLength: payload.count)
        if let source = payload.baseAddress {
            (bytes + header).copyMemory(from: source, byteCount: payload.count)
        }
        payloadCount = payload.count
    }

    deinit { shared.release() }

    /// The whole frame, header included.
    package var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(shared.bytes) }

    /// A retained reference as a number, to travel in an inbox record.
    package func passRetained() -> UInt64 { UInt64(UInt(bitPattern: Unmanaged.passRetained(self).toOpaque())) }

    /// Takes back a reference made by `passRetained`.
    package static func takeRetained(_ raw: UInt64) -> SharedFrame {
        Unmanaged<SharedFrame>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(raw))!).takeRetainedValue()
    }
}
