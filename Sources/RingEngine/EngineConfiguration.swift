import CRingCore

/// How an idle connection waits for data. The kernel-memory trade-off is
/// measured in `bench/RESULTS.md`.
public enum WaitMode: UInt8, Sendable {
    /// A multishot recv stays armed (`IORING_RECV_MULTISHOT`): one completion per arrival.
    case multishotRecv = 0
    /// A multishot poll stays armed; a one-shot recv is issued when it fires.
    case poll = 1
}

/// Settings for the C core; each field mirrors `rg_config` in `ringcore.h`.
public struct EngineConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port: UInt16 = 8080
    /// `false` for a client-only engine (the load generator).
    public var listens = true
    public var pinsCPUs = true
    public var workers: UInt32 = 2
    public var maxConnections: UInt32 = 10_000
    public var backlog: UInt32 = 4096
    /// Bytes per receive buffer; 0 picks by the kernel's features (64 KiB with incremental
    /// buffer consumption, else 4 KiB; the reasoning is beside `default_shape` in bufring.c).
    public var receiveBufferBytes: UInt32 = 0
    /// Receive buffers per worker; a power of two, or 0 (64 with incremental consumption, else 1,024).
    public var receiveBufferCount: UInt32 = 0
    public var submissionEntries: UInt32 = 1024
    public var completionEntries: UInt32 = 8192
    /// Period of `.tick` events; 0 turns them off.
    public var tickMs: UInt32 = 100
    public var sendQueueLimitBytes: UInt32 = 1 << 20
    /// Send-chunk budget per worker; 0 sizes it from the connection table and the receive
    /// buffers (the reasoning is beside `default_budget` in chunks.c).
    public var sendPoolBytesPerWorker: UInt32 = 0
    public var waitMode: WaitMode = .multishotRecv
    public var incrementalBuffers = true
    public var singleIssuer = true
    /// A waiting worker wakes once this many completions are pending...
    public var batchEvents: UInt32 = 64
    /// ...or this long after the first arrived (Linux 6.12's min timeout); 0 wakes on the first.
    public var batchWaitMicroseconds: UInt32 = 0
    /// `false` serves only wss:// (needs `tls`).
    public var servesPlain = true
    /// Certificates for a second listener set serving wss:// on `tlsPort`; nil for none.
    public var tls: TLSConfiguration?
    /// 0 picks a free port (see `Engine.tlsPort`).
    public var tlsPort: UInt16 = 0
    /// Listening sockets handed over by a running gateway, one per worker; adopted instead of
    /// binding `host` and `port`. The engine duplicates them: the caller still closes these.
    public var inheritedListenerFDs: [Int32] = []
    /// The same for the wss:// listeners, adopted instead of binding `tlsPort`. Empty with a
    /// `tls` configuration binds a fresh set (a restart that adds wss://).
    public var inheritedTLSListenerFDs: [Int32] = []

    public init() {}

    /// Fills an `rg_config`; `host` must stay alive while `body` runs, and `tls` is the loaded `self.tls`.
    func withRaw<R>(tls context: TLSContext? = nil, _ body: (inout rg_config) throws -> R) rethrows -> R {
        try host.withCString { hostPointer in
            var raw = rg_config()
            rg_config_defaults(&raw)
            raw.host = hostPointer
            raw.port = port
            raw.listen = listens && servesPlain ? 1 : 0
            raw.tls_listen = listens && context != nil ? 1 : 0
            raw.tls_port = tlsPort
            raw.tls = context?.raw
            raw.pin_cpus = pinsCPUs ? 1 : 0
            raw.workers = workers
            raw.max_connections = maxConnections
            raw.backlog = backlog
            raw.buf_size = receiveBufferBytes
            raw.buf_count = receiveBufferCount
            raw.sq_entries = submissionEntries
            raw.cq_entries = completionEntries
            raw.tick_ms = tickMs
            raw.send_queue_limit = sendQueueLimitBytes
            raw.send_pool_bytes = sendPoolBytesPerWorker
            raw.wait_mode = waitMode.rawValue
            raw.incremental_buffers = incrementalBuffers ? 1 : 0
            raw.single_issuer = singleIssuer ? 1 : 0
            raw.batch_events = batchEvents
            raw.batch_wait_us = batchWaitMicroseconds
            return try inheritedListenerFDs.withUnsafeBufferPointer { fds in
                try inheritedTLSListenerFDs.withUnsafeBufferPointer { tlsFDs in
                    raw.listen_fds = fds.baseAddress
                    raw.listen_fd_count = UInt32(fds.count)
                    raw.tls_listen_fds = tlsFDs.baseAddress
                    raw.tls_listen_fd_count = UInt32(tlsFDs.count)
                    return try body(&raw)
                }
            }
        }
    }
}
