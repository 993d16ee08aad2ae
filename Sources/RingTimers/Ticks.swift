/// Comparisons of wrapping `UInt32` ticks, by signed difference (see TimingWheel.swift): tick 3
/// comes after tick `UInt32.max - 2`, as long as the two are less than 2^31 ticks apart.
public enum Ticks {
    /// The earlier of two ticks.
    @inline(__always)
    public static func earlier(_ a: UInt32, _ b: UInt32) -> UInt32 {
        Int32(bitPattern: b &- a) < 0 ? b : a
    }

    /// Whether `now` is at or past `tick`.
    @inline(__always)
    public static func reached(_ tick: UInt32, now: UInt32) -> Bool {
        Int32(bitPattern: now &- tick) >= 0
    }
}
