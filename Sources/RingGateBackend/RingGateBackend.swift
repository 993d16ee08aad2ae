// The Swift SDK for RingGate's worker protocol (docs/PROTOCOL.md).
@_exported public import RingGateProtocol
