// The Swift SDK for RingGate's worker protocol (docs/PROTOCOL.md): `BackendLink.connect` opens
// a link to `ringgate --backend-socket PATH`, `link.events` yields what happens to the
// WebSocket connections routed to this worker, and the link's async methods answer.
@_exported public import RingGateProtocol
