#if canImport(Glibc)
import Glibc
#endif

/// Storage for a message that spans receive buffers or fragments: one malloc'd region,
/// emptied when the message is delivered and kept for the next one (ReassemblyPool decides
/// how long).
struct Reassembly {
    private(set) var base: UnsafeMutableRawPointer?
    private(set) var count = 0
    private(set) var capacity = 0

    /// Appends `bytes`; false when memory cannot be had.
    mutating func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count > 0 else { return true }
        if count + bytes.count > capacity {
            let wanted = max(count + bytes.count, capacity * 2, 4096)
            guard let grown = realloc(base, wanted) else { return false }
            base = grown
            capacity = wanted
        }
        (base! + count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        count += bytes.count
        return true
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Forgets the bytes, keeps the storage.
    mutating func empty() { count = 0 }

    mutating func release() {
        free(base)
        base = nil
        count = 0
        capacity = 0
    }
}
