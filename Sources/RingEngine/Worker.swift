import CRingCore
import Glibc

/// A connection as the core names it: its slot in a worker's table and the
/// slot's generation, so a stale id is refused.
public struct ConnectionID: Hashable, Sendable {
    public var slot: UInt32
    public var generation: UInt32

    public init(slot: UInt32, generation: UInt32) {
        self.slot = slot
        self.generation = generation
    }
}

/// How `Worker.close` ends a connection (`rg_close_how`).
public enum CloseMode: UInt32, Sendable {
    /// Send what is queued, shut down writes, close.
    case flush = 0
    /// Drop what is queued and close now.
    case abort = 1
    /// Send what is queued, shut down writes, keep reading until the peer's EOF.
    case linger = 2
}

/// Why a send was not queued (`rg_conn_send`'s errors).
public enum SendRefusal: Error, Sendable {
    /// The refusal a negative `Worker.sendMessage` (or `rg_conn_send`) result stands for.
    public init(queuedOrError code: Int) {
        switch Int32(truncatingIfNeeded: code) {
        case -ESTALE: self = .stale
        case -EPIPE: self = .closing
        case -ENOMEM: self = .poolDry
        default: self = .full
        }
    }

    /// The id names no open connection.
    case stale
    /// The connection is closing.
    case closing
    /// The per-connection queue limit is reached.
    case full
    /// The worker's send pool is dry; `Worker.sendPressure` says so before it happens.
    case poolDry
}

/// One worker of the engine. Every method except `post` must be called on the
/// worker's own thread, from inside its handler.
public struct Worker: @unchecked Sendable {
    // @unchecked: only `post` is called from other threads, and the core locks it.
    let raw: OpaquePointer

    public var index: Int { Int(rg_worker_index(raw)) }

    /// Queues `bytes` for the connection (copied into the send queue).
    @inline(__always)
    public func send(_ id: ConnectionID, _ bytes: UnsafeRawBufferPointer) -> SendRefusal? {
        refusal(rg_conn_send(raw, id.slot, id.generation, bytes.baseAddress, UInt32(bytes.count)))
    }

    /// Queues `head` then `body` as one message (both or neither), like `sendParts`: one call
    /// into the core per message. Returns the bytes the connection then has queued, or a
    /// negative value that `SendRefusal(queuedOrError:)` names.
    @inline(__always)
    public func sendMessage(_ id: ConnectionID, _ head: UnsafeRawBufferPointer, _ body: UnsafeRawBufferPointer) -> Int {
        Int(rg_conn_send_message(raw, id.slot, id.generation, head.baseAddress, UInt32(head.count), body.baseAddress, UInt32(body.count)))
    }

    /// Reserves `count` contiguous bytes at the tail of the send queue for
    /// in-place writing; `commit` queues what was written.
    @inline(__always)
    public func reserve(_ id: ConnectionID, _ count: Int) -> UnsafeMutableRawPointer? {
        rg_conn_send_reserve(raw, id.slot, id.generation, UInt32(count)).map { UnsafeMutableRawPointer($0) }
    }

    @inline(__always)
    public func commit(_ id: ConnectionID, _ used: Int) {
        rg_conn_send_commit(raw, id.slot, UInt32(used))
    }

    /// The largest `count` `reserve` accepts.
    public static var reserveCapacity: Int { Int(rg_send_chunk_capacity()) }

    /// The most chunks one send covers: what a queue holds leaves in one system call up to this.
    public static var maxChunksPerSend: Int { Int(rg_send_max_chunks()) }

    /// True while the send pool is down to the reserve that covers answers to what has been
    /// read: stop reading and stop taking new work that sends until it clears.
    @inline(__always)
    public var sendPressure: Bool { rg_worker_send_pressure(raw) != 0 }

    /// Bytes queued and not yet taken by the kernel.
    public func queuedBytes(_ id: ConnectionID) -> Int { Int(rg_conn_queued(raw, id.slot, id.generation)) }

    /// Queues a shared frame (`rg_shared`) by reference: no copy per recipient.
    @inline(__always)
    public func sendShared(_ id: ConnectionID, _ shared: SharedBytes) -> SendRefusal? {
        refusal(rg_conn_send_shared(raw, id.slot, id.generation, shared.raw))
    }

    /// Closes the connection the way `mode` says; `.closed` follows.
    @discardableResult
    public func close(_ id: ConnectionID, _ mode: CloseMode = .flush) -> Bool {
        rg_conn_close(raw, id.slot, id.generation, Int32(mode.rawValue)) == 0
    }

    /// Queues `head` then `body` as one message: both or neither (`rg_conn_send_parts`).
    @inline(__always)
    public func sendParts(_ id: ConnectionID, _ head: UnsafeRawBufferPointer, _ body: UnsafeRawBufferPointer) -> SendRefusal? {
        refusal(rg_conn_send_parts(raw, id.slot, id.generation, head.baseAddress, UInt32(head.count), body.baseAddress, UInt32(body.count)))
    }

    /// Removes whole queued messages that have not started to leave, oldest first, until
    /// `bytes` are freed or none is left; `measure` tells a message's length, and whether it
    /// may go, from its first bytes (`rg_conn_drop_oldest`). Nil when the connection cannot
    /// drop (TLS, closing, stale); otherwise what was freed, possibly less than asked.
    public func dropOldest(_ id: ConnectionID, bytes: Int, measure: RecordMeasure) -> (bytes: Int, messages: Int)? {
        var records: UInt32 = 0
        let freed = rg_conn_drop_oldest(raw, id.slot, id.generation, UInt32(clamping: bytes), measure, &records)
        return freed < 0 ? nil : (Int(freed), Int(records))
    }

    /// Queues the bytes of a control frame, past the per-connection limit if need be.
    @inline(__always)
    public func sendControl(_ id: ConnectionID, _ bytes: UnsafeRawBufferPointer) -> SendRefusal? {
        refusal(rg_conn_send_control(raw, id.slot, id.generation, bytes.baseAddress, UInt32(bytes.count)))
    }

    /// Parks an idle connection: it waits with a poll instead of an armed multishot recv,
    /// which saves kernel memory; data that arrives meanwhile is still delivered.
    public func park(_ id: ConnectionID) { _ = rg_conn_park(raw, id.slot, id.generation) }

    /// Returns a parked connection that turned busy to its multishot recv.
    public func unpark(_ id: ConnectionID) { _ = rg_conn_unpark(raw, id.slot, id.generation) }

    /// True when the kernel reported data on the connection that has not been handed up yet.
    public func inputPending(_ id: ConnectionID) -> Bool { rg_conn_input_pending(raw, id.slot, id.generation) != 0 }

    /// Asks for the connection's peer address; `.peer` answers (see `PeerAddress`).
    @discardableResult
    public func queryPeer(_ id: ConnectionID) -> Bool { rg_conn_peer_query(raw, id.slot, id.generation) == 0 }

    /// Stops reading from the connection until `resume`.
    public func pause(_ id: ConnectionID) { _ = rg_conn_pause(raw, id.slot, id.generation) }
    public func resume(_ id: ConnectionID) { _ = rg_conn_resume(raw, id.slot, id.generation) }

    /// Hands `(tag, pointer)` to this worker from any thread; `false` when its mailbox is full.
    /// Tag 0 and `UInt64.max - 2` to `UInt64.max` are reserved.
    public func post(tag: UInt64, _ pointer: UnsafeMutableRawPointer?) -> Bool {
        precondition(tag != 0 && tag < UInt64.max - 2, "mail tag \(tag) is reserved for the engine")
        return rg_worker_post(raw, tag, pointer) == 0
    }

    /// This worker's counters.
    public var stats: EngineStats {
        var out = rg_stats()
        rg_worker_stats(raw, &out)
        return EngineStats(out)
    }

    @inline(__always)
    private func refusal(_ code: Int32) -> SendRefusal? {
        code == 0 ? nil : SendRefusal(queuedOrError: Int(code))
    }
}

extension Worker {
    /// Registers `host:port` for outgoing connections; returns its index.
    public func addAddress(host: String, port: UInt16) -> Int32? {
        let index = rg_worker_add_address(raw, host, port)
        return index >= 0 ? index : nil
    }

    /// Starts a connection from address `source` (-1: the kernel's choice) to
    /// address `destination` that sends `first` as soon as it is up; `.open` or
    /// `.closed` follows for the returned slot. `first` is read later, so it must
    /// stay valid until then (`rg_conn_connect`).
    public func connect(
        to destination: Int32, from source: Int32, sending first: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
    ) -> Result<UInt32, ConnectFailure> {
        let slot = rg_conn_connect(raw, destination, source, first.baseAddress, UInt32(first.count))
        return slot >= 0 ? .success(UInt32(slot)) : .failure(ConnectFailure(errno: -slot))
    }
}

/// Why an outgoing connection could not start, as an errno value.
public struct ConnectFailure: Error, Sendable, Hashable {
    public let errno: Int32
}
