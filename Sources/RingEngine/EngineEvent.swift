import CRingCore

/// One completion as a handler sees it: the core's `rg_event`, field for field, so a batch is
/// handed over by rebinding the core's array, without a copy. `Engine.start` checks the two
/// layouts agree before any worker runs.
public struct EngineEvent {
    public enum Kind: UInt8, Sendable {
        /// A connection arrived in `slot` with `generation`.
        case open = 1
        /// `result` bytes at `data`, valid (and writable) until the handler returns.
        case data
        /// The slot is free; `result` is 0 or -errno (the cause).
        case closed
        /// `result` ticks elapsed since the last one.
        case tick
        /// `Worker.post`: `arg` is the tag, `data` the pointer.
        case mail
        /// `Worker.queryPeer`: `data` holds a sockaddr of `result` bytes, or `result` is -errno.
        case peer
    }

    public let rawKind: UInt8
    public let flags: UInt8
    private let reserved: UInt16
    public let slot: UInt32
    public let generation: UInt32
    public let result: Int32
    public let data: UnsafeMutableRawPointer?
    public let arg: UInt64

    @inline(__always)
    public var kind: Kind? { Kind(rawValue: rawKind) }

    /// The connection this event is about.
    @inline(__always)
    public var connection: ConnectionID { ConnectionID(slot: slot, generation: generation) }

    /// `data` and `result` as a buffer (empty when `result` is not a byte count).
    @inline(__always)
    public var bytes: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: data, count: result > 0 ? Int(result) : 0)
    }

    /// True when `EngineEvent` and `rg_event` have the same size and field offsets.
    static var layoutMatchesCore: Bool {
        MemoryLayout<EngineEvent>.size == MemoryLayout<rg_event>.size
            && MemoryLayout<EngineEvent>.stride == MemoryLayout<rg_event>.stride
            && MemoryLayout<EngineEvent>.offset(of: \.slot) == MemoryLayout<rg_event>.offset(of: \.slot)
            && MemoryLayout<EngineEvent>.offset(of: \.generation) == MemoryLayout<rg_event>.offset(of: \.gen)
            && MemoryLayout<EngineEvent>.offset(of: \.result) == MemoryLayout<rg_event>.offset(of: \.result)
            && MemoryLayout<EngineEvent>.offset(of: \.data) == MemoryLayout<rg_event>.offset(of: \.data)
            && MemoryLayout<EngineEvent>.offset(of: \.arg) == MemoryLayout<rg_event>.offset(of: \.arg)
    }
}
