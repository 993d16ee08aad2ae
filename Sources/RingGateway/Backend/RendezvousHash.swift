import Synchronization

/// Picks a link for a key so the same key keeps going to the same worker while
/// the set of workers is unchanged, and only the keys of a worker that leaves
/// move (rendezvous, or highest-random-weight, hashing). FNV-1a, because
/// Swift's Hasher is seeded per process and routing must be stable across restarts.
enum RendezvousHash {
    static func pick(_ key: String, among links: [BackendLink]) -> BackendLink? {
        var best: BackendLink?
        var bestScore: UInt64 = 0
        for link in links {
            let name = link.name.withLock { $0 }
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            hash = (hash ^ 0xff) &* 0x0000_0100_0000_01b3
            for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            // A final mix so names differing in the last byte spread well.
            hash ^= hash >> 33
            hash = hash &* 0xff51_afd7_ed55_8ccd
            hash ^= hash >> 33
            if best == nil || hash > bestScore || (hash == bestScore && link.id < best!.id) {
                best = link
                bestScore = hash
            }
        }
        return best
    }
}
