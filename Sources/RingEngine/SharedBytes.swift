import CRingCore

/// Bytes written once and queued by reference on any number of connections, on any worker
/// (`Worker.sendShared`): the core counts the references and frees the bytes when the last
/// queue has sent them and the owner has called `release`. A handle: copying it does not
/// add a reference.
public struct SharedBytes: @unchecked Sendable {
    // @unchecked: the bytes are written before the first send and only read after; the core's
    // reference count is atomic.
    let raw: OpaquePointer

    /// `count` bytes to fill; nil when memory cannot be had.
    public init?(count: Int) {
        guard count >= 0, count <= Int(UInt32.max), let made = rg_shared_create(UInt32(count)) else { return nil }
        raw = made
    }

    /// A handle on bytes the core's own `rg_shared_create` made (the core's tests).
    init(raw: OpaquePointer) { self.raw = raw }

    public var bytes: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: rg_shared_bytes(raw), count: Int(rg_shared_length(raw)))
    }

    /// Gives up the owner's reference; queues still holding the bytes keep them alive.
    public func release() { rg_shared_release(raw) }
}

/// Tells `Worker.dropOldest` how long the queued record starting at `head` is, from its first
/// `available` bytes (at most 16): its length when it may be dropped, minus its length when it
/// must stay, 0 when the bytes are not a record the caller knows (it and the rest of its chunk
/// stay). A C function pointer, so a Swift closure that captures nothing.
public typealias RecordMeasure = @convention(c) (_ head: UnsafePointer<UInt8>?, _ available: UInt32) -> Int64
