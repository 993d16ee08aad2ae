import RingWebSocket

/// The built-in demo application: every message comes back to its sender, as
/// text or binary as it came. It answers through the same send path any
/// application uses, so it also serves as the echo benchmark's server.
struct EchoApplication {
    @inline(__always)
    func message(_ kind: MessageKind, _ payload: UnsafeRawBufferPointer, slot: UInt32, gateway: GatewayWorker) {
        gateway.sendFrame(slot, kind == .text ? .text : .binary, payload)
    }
}
