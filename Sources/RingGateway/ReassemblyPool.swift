import RingEngine
/// One worker's storage for messages (and control frames) that span receive buffers, by slot.
///
/// A split message is common (every message longer than a receive buffer, and any frame that
/// straddles two completions), so it must not cost a malloc, a dictionary insert and a free:
/// a slot's entry index lives in a slot array, and an entry given back keeps its storage for
/// the next split message. An idle connection holds nothing: entries belong to the pool, and a
/// slot's index is touched only once that slot has split a message.
struct ReassemblyPool {
    private struct Entry {
        var data = Reassembly()
        var control = Reassembly()
    }

    /// Per slot: 1 + the index of its entry, 0 for none. Zero pages cost no memory.
    private let refs: SlotArray<UInt32>
    private var entries: [Entry] = []
    private var freeEntries: [UInt32] = []
    /// Free entries keep their storage up to this size; a larger one is freed (and
    /// `retainedLimit` bounds how many keep any), so a burst of large messages does not pin
    /// its memory for the worker's life.
    static let retainedBytes = 64 << 10
    static let retainedLimit = 256

    init(tableSize: Int) {
        refs = SlotArray(count: tableSize)
        entries.reserveCapacity(64)
        freeEntries.reserveCapacity(64)
    }

    /// Appends `bytes` to the slot's data or control partial; false when memory cannot be had.
    mutating func append(_ slot: UInt32, _ bytes: UnsafeRawBufferPointer, control: Bool) -> Bool {
        let index = entryIndex(slot)
        return control ? entries[index].control.append(bytes) : entries[index].data.append(bytes)
    }

    func bytes(_ slot: UInt32, control: Bool) -> UnsafeRawBufferPointer {
        let ref = refs[slot]
        guard ref != 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return control ? entries[Int(ref - 1)].control.bytes : entries[Int(ref - 1)].data.bytes
    }

    /// Empties the slot's data or control partial; the entry goes back once both are empty.
    mutating func reset(_ slot: UInt32, control: Bool) {
        let ref = refs[slot]
        guard ref != 0 else { return }
        let index = Int(ref - 1)
        if control { entries[index].control.empty() } else { entries[index].data.empty() }
        if entries[index].data.count == 0, entries[index].control.count == 0 { giveBack(slot, index) }
    }

    /// The slot closed: whatever it had in progress is dropped.
    mutating func discard(_ slot: UInt32) {
        let ref = refs[slot]
        guard ref != 0 else { return }
        let index = Int(ref - 1)
        entries[index].data.empty()
        entries[index].control.empty()
        giveBack(slot, index)
    }

    /// Frees every entry's storage and the slot array; the pool is unusable after.
    mutating func release() {
        for index in entries.indices {
            entries[index].data.release()
            entries[index].control.release()
        }
        refs.unmap()
    }

    private mutating func entryIndex(_ slot: UInt32) -> Int {
        let ref = refs[slot]
        if ref != 0 { return Int(ref - 1) }
        let index: Int
        if let reused = freeEntries.popLast() {
            index = Int(reused)
        } else {
            index = entries.count
            entries.append(Entry())
        }
        refs[slot] = UInt32(index + 1)
        return index
    }

    private mutating func giveBack(_ slot: UInt32, _ index: Int) {
        refs[slot] = 0
        if freeEntries.count >= Self.retainedLimit || entries[index].data.capacity > Self.retainedBytes {
            entries[index].data.release()
        }
        if freeEntries.count >= Self.retainedLimit || entries[index].control.capacity > Self.retainedBytes {
            entries[index].control.release()
        }
        freeEntries.append(UInt32(index))
    }
}
