import CRingCore

/// One worker's counters in the core (or their sum over workers), as Swift sees them. Each
/// field is read atomically from the worker that keeps it; fields may be a moment apart.
public struct EngineStats: Sendable, Equatable {
    public var accepted: UInt64 = 0
    /// Accept found the fixed-file table full.
    public var refusedTableFull: UInt64 = 0
    /// Closed at once: max_connections were open.
    public var refusedOverLimit: UInt64 = 0
    public var acceptErrors: UInt64 = 0
    public var closed: UInt64 = 0
    public var openNow: UInt64 = 0
    public var recvBytes: UInt64 = 0
    public var recvCompletions: UInt64 = 0
    /// Buffer ring ran dry; recv re-armed.
    public var recvEnobufs: UInt64 = 0
    public var sendBytes: UInt64 = 0
    public var sendCompletions: UInt64 = 0
    public var sendPartial: UInt64 = 0
    /// Rg_conn_send refused: limit or pool.
    public var sendRejected: UInt64 = 0
    public var peerResets: UInt64 = 0
    public var mail: UInt64 = 0
    public var ticks: UInt64 = 0
    /// Completions with errors that indicate a bug.
    public var unexpected: UInt64 = 0
    public var tlsHandshakesFull: UInt64 = 0
    /// By session ticket.
    public var tlsHandshakesResumed: UInt64 = 0
    /// Closed before the handshake completed, for any reason.
    public var tlsHandshakeFailures: UInt64 = 0
    /// Fatal TLS errors after the handshake (bad record, ...).
    public var tlsErrors: UInt64 = 0
    /// Requests cancelled (each walks a kernel hash chain).
    public var cancels: UInt64 = 0
    /// Send-chunk bytes the worker may use (summed: all workers').
    public var sendPoolBudget: UInt64 = 0
    /// Send-chunk bytes in use now.
    public var sendPoolUsed: UInt64 = 0
    /// The most in use at once (summed over workers: each worker's own peak).
    public var sendPoolPeak: UInt64 = 0

    public init() {}

    init(_ raw: rg_stats) {
        accepted = raw.accepted
        refusedTableFull = raw.refused_table_full
        refusedOverLimit = raw.refused_over_limit
        acceptErrors = raw.accept_errors
        closed = raw.closed
        openNow = raw.open_now
        recvBytes = raw.recv_bytes
        recvCompletions = raw.recv_completions
        recvEnobufs = raw.recv_enobufs
        sendBytes = raw.send_bytes
        sendCompletions = raw.send_completions
        sendPartial = raw.send_partial
        sendRejected = raw.send_rejected
        peerResets = raw.peer_resets
        mail = raw.mail
        ticks = raw.ticks
        unexpected = raw.unexpected
        tlsHandshakesFull = raw.tls_handshakes_full
        tlsHandshakesResumed = raw.tls_handshakes_resumed
        tlsHandshakeFailures = raw.tls_handshake_failures
        tlsErrors = raw.tls_errors
        cancels = raw.cancels
        sendPoolBudget = raw.send_pool_budget
        sendPoolUsed = raw.send_pool_used
        sendPoolPeak = raw.send_pool_peak
    }
}
