import RingWebSocket

/// One WebSocket frame encoded once and handed by reference to every gateway
/// thread of a fan-out (and kept in topic history); freed when the last
/// holder lets go.
final class SharedFrame: @unchecked Sendable {
    // @unchecked: the bytes are written once in init and only read afterwards.
    let bytes: UnsafeMutableRawBufferPointer
    /// Payload bytes (the frame minus its header), for counters.
    let payloadCount: Int

    init(opcode: Opcode, payload: UnsafeRawBufferPointer) {
        let header = FrameEncoder.headerSize(payloadLength: payload.count)
        bytes = .allocate(byteCount: header + payload.count, alignment: 8)
        FrameEncoder.writeHeader(into: bytes.baseAddress!, opcode: opcode, fin: true, payloadLength: payload.count)
        if let source = payload.baseAddress {
            (bytes.baseAddress! + header).copyMemory(from: source, byteCount: payload.count)
        }
        payloadCount = payload.count
    }

    deinit { bytes.deallocate() }

    /// A retained reference as a number, to travel in an inbox record.
    func passRetained() -> UInt64 { UInt64(UInt(bitPattern: Unmanaged.passRetained(self).toOpaque())) }

    /// Takes back a reference made by `passRetained`.
    static func takeRetained(_ raw: UInt64) -> SharedFrame {
        Unmanaged<SharedFrame>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(raw))!).takeRetainedValue()
    }
}
