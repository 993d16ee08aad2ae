// Spreading first deadlines.
//
// When a million connections arrive in the same second and each arms a heartbeat `interval` ticks
// later, their timers would all fall in a handful of slots and fire in the same few ticks. Adding
// `jitter(for: id, window: w)` to the first deadline spreads them over `w` ticks. The offset depends
// only on the id, so it needs no random state and a test can predict it.
//
// The hash is Fibonacci hashing (Knuth, TAOCP vol. 3, 6.4): multiply by 2^32 divided by the golden
// ratio and keep the high bits. Consecutive ids, the common case for slot numbers, land almost exactly
// evenly across the range. The high 32 bits of the product with `window` map the hash onto
// `0..<window` without the bias or the division of `%`.

extension TimingWheel {
    /// Returns a deterministic offset in `0..<window` for the first deadline of timer `id`, so that
    /// timers created together do not fire together.
    ///
    /// Consecutive ids spread almost uniformly across the window.
    ///
    /// - Parameters:
    ///   - id: Timer id.
    ///   - window: Width of the spread in ticks; `0` and `1` give offset `0`.
    /// - Returns: An offset in `0..<window`, or `0` when `window` is `0`.
    public static func jitter(for id: UInt32, window: UInt32) -> UInt32 {
        let hash = id &* 0x9E37_79B9
        return UInt32(truncatingIfNeeded: (UInt64(hash) &* UInt64(window)) >> 32)
    }
}
