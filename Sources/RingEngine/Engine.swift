import CRingCore
#if canImport(Glibc)
import Glibc
#endif

/// Why the engine could not be created or started, with the core's one-line reason.
public struct EngineError: Error, CustomStringConvertible, Sendable {
    /// The negative errno the core returned.
    public let code: Int32
    public let message: String
    public var description: String { message }
}

/// Receives one worker's batches of completions, on that worker's thread.
///
/// One object per worker: it owns that worker's per-connection state, so it
/// needs no locks. It is called once per batch, never per message.
public protocol WorkerHandler: AnyObject {
    /// Handles `events`; buffers in `.data` events are valid only during the call.
    func handle(_ events: UnsafeMutableBufferPointer<EngineEvent>, on worker: Worker)
}

/// The io_uring engine: N workers, each with its own ring, listener and connection table.
public final class Engine: @unchecked Sendable {
    // @unchecked: the pointer is only used by start/stop, which the owner serialises.
    private let raw: OpaquePointer
    private var handlers: [HandlerBox] = []
    private var running = false
    private var tlsConfiguration: TLSConfiguration?
    private var tlsContext: TLSContext?

    public init(_ configuration: EngineConfiguration) throws(EngineError) {
        var error = [CChar](repeating: 0, count: 256)
        var created: OpaquePointer?
        tlsConfiguration = configuration.listens ? configuration.tls : nil
        if !configuration.servesPlain && tlsConfiguration == nil {
            throw EngineError(code: -EINVAL, message: "serving only wss:// needs a TLS certificate and key")
        }
        tlsContext = try tlsConfiguration.map { configuration throws(EngineError) in try TLSContext(configuration, previous: nil) }
        let code = configuration.withRaw(tls: tlsContext) { rg_engine_create(&$0, &created, &error, error.count) }
        guard code == 0, let created else {
            throw EngineError(code: code, message: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        raw = created
    }

    deinit {
        if running { rg_engine_stop(raw) }
        rg_engine_destroy(raw)
    }

    /// The bound port (useful when configured with port 0).
    public var port: UInt16 { rg_engine_port(raw) }
    /// The bound wss:// port, or 0 without TLS.
    public var tlsPort: UInt16 { rg_engine_tls_port(raw) }

    /// Reads the TLS certificates and keys again (from `configuration` when given, else from
    /// the files already in use) and hands the fresh context to every worker for new
    /// connections; open ones keep theirs. On error the old context and settings stay.
    /// Call from one thread at a time, after `start`.
    public func reloadTLS(_ configuration: TLSConfiguration? = nil) throws(EngineError) {
        guard let current = tlsConfiguration else { throw EngineError(code: -EINVAL, message: "no TLS listener to reload") }
        let wanted = configuration ?? current
        let fresh = try TLSContext(wanted, previous: tlsContext)
        let code = rg_engine_set_tls(raw, fresh.raw)
        tlsContext = fresh
        tlsConfiguration = wanted
        guard code == 0 else { throw EngineError(code: code, message: "a worker's mailbox stayed full; some workers kept the old certificates") }
    }
    public var workerCount: Int { Int(rg_engine_worker_count(raw)) }
    /// Per-worker connection table size after the open-file cap.
    public var tableSize: Int { Int(rg_engine_table_size(raw)) }
    /// What the core fell back from (empty when nothing).
    public var notes: String { String(cString: rg_engine_notes(raw)) }

    /// Changes the connection limit while running, from any thread. The tables keep their size,
    /// so the limit is capped at `tableSize * workerCount`; connections already open stay.
    /// Returns the limit in force.
    @discardableResult
    public func setMaxConnections(_ maxConnections: UInt32) -> UInt32 {
        rg_engine_set_max_connections(raw, maxConnections)
    }

    /// The worker at `index`, for posting mail from other threads.
    public func worker(_ index: Int) -> Worker { Worker(raw: rg_engine_worker(raw, UInt32(index))!) }

    /// Starts every worker with the handler `makeHandler` builds for it.
    public func start(_ makeHandler: (Worker) -> WorkerHandler) throws(EngineError) {
        precondition(EngineEvent.layoutMatchesCore, "EngineEvent no longer matches rg_event field for field")
        handlers = (0..<workerCount).map { HandlerBox(makeHandler(worker($0))) }
        for (index, box) in handlers.enumerated() {
            rg_worker_set_context(rg_engine_worker(raw, UInt32(index)), Unmanaged.passUnretained(box).toOpaque())
        }
        rg_engine_set_handler(raw) { context, worker, events, count in
            // The box outlives its worker: the engine holds it until stop() has joined the thread.
            let box = Unmanaged<HandlerBox>.fromOpaque(context!).takeUnretainedValue()
            let batch = UnsafeMutableRawPointer(events!).assumingMemoryBound(to: EngineEvent.self)
            box.handler.handle(UnsafeMutableBufferPointer(start: batch, count: Int(count)), on: Worker(raw: worker!))
        }
        var error = [CChar](repeating: 0, count: 256)
        let code = rg_engine_start(raw, &error, error.count)
        guard code == 0 else {
            throw EngineError(code: code, message: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        running = true
    }

    /// Stops the workers and waits for them to exit.
    public func stop() {
        guard running else { return }
        rg_engine_stop(raw)
        running = false
    }

    /// The workers' listening sockets, for handing to a process that takes over; empty after
    /// `stopAccepting()`.
    public var listenerFDs: [Int32] {
        (0..<workerCount).map { rg_engine_listen_fd(raw, UInt32($0)) }.filter { $0 >= 0 }
    }

    /// The workers' wss:// listening sockets, likewise; empty without TLS.
    public var tlsListenerFDs: [Int32] {
        (0..<workerCount).map { rg_engine_tls_listen_fd(raw, UInt32($0)) }.filter { $0 >= 0 }
    }

    /// Asks every worker to cancel its accepts and close its listeners; open connections stay.
    /// Callable from any thread; returns once every accept has ended (or after 5 s), so a
    /// process that took the listeners over can then `rearmAccepts` and miss nothing.
    public func stopAccepting() {
        while rg_engine_stop_accepting(raw) == -EAGAIN { usleep(1000) }
        for _ in 0..<5000 {
            if rg_engine_accepts_armed(raw) == 0 { return }
            usleep(1000)
        }
    }

    /// Cancels and re-arms every worker's accepts, which then take what is queued. Call after
    /// taking the listeners over, once the previous process has stopped accepting: a
    /// connection whose wakeup went to that process's accept as it was cancelled stays queued
    /// until something accepts again. Callable from any thread.
    public func rearmAccepts() {
        while rg_engine_rearm_accepts(raw) == -EAGAIN { usleep(1000) }
    }

    /// Counters summed over all workers.
    public var stats: EngineStats {
        var out = rg_stats()
        rg_engine_stats(raw, &out)
        return EngineStats(out)
    }
}

/// Holds a handler behind a class reference the C core can carry as its context.
private final class HandlerBox {
    let handler: WorkerHandler
    init(_ handler: WorkerHandler) { self.handler = handler }
}
