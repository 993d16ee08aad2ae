/// The u64 connection id of the worker protocol: gateway thread (16 bits),
/// slot generation (24) and slot (24). A reused slot has a new generation, so
/// an id never names two connections.
struct LinkConnectionID: Equatable {
    var worker: Int
    var slot: UInt32
    var generation: UInt32

    init(worker: Int, slot: UInt32, generation: UInt32) {
        self.worker = worker
        self.slot = slot
        self.generation = generation
    }

    init(_ raw: UInt64) {
        worker = Int(raw >> 48)
        generation = UInt32(truncatingIfNeeded: raw >> 24) & 0xFF_FFFF
        slot = UInt32(truncatingIfNeeded: raw) & 0xFF_FFFF
    }

    var raw: UInt64 {
        UInt64(worker) << 48 | UInt64(generation & 0xFF_FFFF) << 24 | UInt64(slot & 0xFF_FFFF)
    }
}
