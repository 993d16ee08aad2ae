// Circular doubly linked lists threaded through `TimingWheel.nodes`.
//
// Every list runs through a sentinel node (a slot head, the pending head or the scan head), so an
// empty list is a sentinel that links to itself and no operation needs a special case for the first
// or last node. Indices are trusted here: the public methods check ids, and sentinels are made at
// init.

extension TimingWheel {
    /// Sentinel index of the slot that holds deadline `tick`.
    @inline(__always)
    func slotHead(of tick: UInt32) -> UInt32 {
        firstSlotHead &+ (tick & slotMask)
    }

    /// Appends `id` to the list whose sentinel is `list`; `id` must not be in any list.
    @inline(__always)
    func insertTail(_ id: UInt32, list: UInt32) {
        let tail = nodes[Int(list)].prev
        nodes[Int(id)].next = list
        nodes[Int(id)].prev = tail
        nodes[Int(tail)].next = id
        nodes[Int(list)].prev = id
    }

    /// Removes `id` from whichever list holds it. Leaves its own links stale; callers either relink
    /// it or mark it unlinked.
    @inline(__always)
    func unlink(_ id: UInt32) {
        let next = nodes[Int(id)].next
        let prev = nodes[Int(id)].prev
        nodes[Int(prev)].next = next
        nodes[Int(next)].prev = prev
    }

    /// Moves every node of list `source` to the front of list `target`, in order, and leaves
    /// `source` empty. O(1).
    @inline(__always)
    func splice(_ source: UInt32, ontoFrontOf target: UInt32) {
        let first = nodes[Int(source)].next
        guard first != source else { return }
        let last = nodes[Int(source)].prev
        let oldFirst = nodes[Int(target)].next
        nodes[Int(target)].next = first
        nodes[Int(first)].prev = target
        nodes[Int(last)].next = oldFirst
        nodes[Int(oldFirst)].prev = last
        nodes[Int(source)].next = source
        nodes[Int(source)].prev = source
    }

    /// Takes nodes off the scan list until it is empty: reports each one due at `now`, and puts each
    /// one not yet due back in its slot.
    ///
    /// The head is re-read after every callback, which is what lets the callback schedule or cancel
    /// any id: a node it removes from the scan list is simply not seen.
    ///
    /// - Returns: `false` if a due node was found after `limit` expiries; the rest of the scan list,
    ///   starting with that node, has then been moved to the front of the pending list.
    @inline(__always)
    func drainScan(now: UInt32, limit: Int, fired: inout Int, _ expired: (UInt32) -> Void) -> Bool {
        while true {
            let id = nodes[Int(scanHead)].next
            if id == scanHead { return true }
            let deadlineTick = nodes[Int(id)].deadlineTick
            if Int32(bitPattern: deadlineTick &- now) > 0 {
                // A later revolution's timer, or a leftover from a stopped sweep that is not due yet.
                unlink(id)
                insertTail(id, list: slotHead(of: deadlineTick))
                continue
            }
            if fired >= limit {
                splice(scanHead, ontoFrontOf: pendingHead)
                return false
            }
            unlink(id)
            nodes[Int(id)].next = Self.unlinked
            state.pointee.count -= 1
            fired += 1
            expired(id)
        }
    }
}
