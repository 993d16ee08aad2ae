/// The messages a topic keeps for subscribers that come back (docs/PROTOCOL.md,
/// SUBSCRIBE with `since`): bounded by count and by age, numbered by sequence.
package struct TopicHistory {
    package struct Entry {
        let seq: UInt64
        let atMs: UInt64
        let frame: SharedFrame
    }

    package var maxCount = 0
    package var maxAgeMs: UInt64 = 0
    /// Oldest first.
    package private(set) var entries: [Entry] = []
    private var head = 0
    /// The highest sequence number no longer kept; a resume from below it has a gap.
    package private(set) var evictedUpTo: UInt64 = 0
    package private(set) var lastSeq: UInt64 = 0

    package var isEnabled: Bool { maxCount > 0 || maxAgeMs > 0 }

    /// Numbers a publish: `requested` when it is above the last one, the next
    /// number when 0; nil for a number that goes backwards.
    package mutating func number(_ requested: UInt64) -> UInt64? {
        let seq = requested == 0 ? lastSeq + 1 : requested
        guard seq > lastSeq else { return nil }
        lastSeq = seq
        return seq
    }

    package mutating func append(seq: UInt64, frame: SharedFrame, nowMs: UInt64) {
        guard isEnabled else { return }
        entries.append(Entry(seq: seq, atMs: nowMs, frame: frame))
        evict(nowMs: nowMs)
    }

    /// Drops what is past the count or the age limit.
    package mutating func evict(nowMs: UInt64) {
        let limit = maxCount > 0 ? maxCount : Int.max
        while head < entries.count,
              entries.count - head > limit || (maxAgeMs > 0 && nowMs &- entries[head].atMs > maxAgeMs) {
            evictedUpTo = entries[head].seq
            head += 1
        }
        if head > 64 && head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }

    /// What a subscriber that saw `since` missed, up to `upTo`; nil when some of it is gone.
    package mutating func missed(since: UInt64, upTo: UInt64, nowMs: UInt64) -> [SharedFrame]? {
        evict(nowMs: nowMs)
        guard since >= evictedUpTo else { return nil }
        var frames: [SharedFrame] = []
        for index in head..<entries.count where entries[index].seq > since && entries[index].seq <= upTo {
            frames.append(entries[index].frame)
        }
        return frames
    }

    package mutating func configure(count: Int, ageMs: UInt64, nowMs: UInt64) {
        maxCount = count
        maxAgeMs = ageMs
        if !isEnabled {
            if let last = entries.last { evictedUpTo = max(evictedUpTo, last.seq) }
            entries.removeAll()
            head = 0
        } else {
            evict(nowMs: nowMs)
        }
    }
}
