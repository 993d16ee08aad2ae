// A hashed timing wheel over caller-supplied 32-bit ticks.
//
// Scheme. This is scheme 6 of Varghese and Lauck, "Hashed and Hierarchical Timing Wheels" (SOSP 1987):
// a ring of `slotCount` lists (a power of two), where a timer due at tick `d` lives in slot
// `d & (slotCount - 1)`. A timer more than one revolution away stays in that slot and is passed over,
// by comparing its deadline with the current tick, until the revolution in which it is due. Nothing
// cascades between levels, and a timer is never moved except by the caller or when the wheel finds
// it not yet due.
//
// Ticks. Ticks are `UInt32` values that wrap. Two ticks are compared by the sign of their wrapping
// difference, `Int32(bitPattern: a &- b)`, as HAProxy's ticks.h does, so tick 3 is after tick
// 0xFFFF_FFFE. This only makes sense while the two ticks are less than 2^31 apart, which bounds how
// far ahead a deadline may be and how far one `advance` may jump.
//
// Storage. Timers are not objects. The caller's slot number (a connection index, say) is the timer
// id, and the wheel keeps one 12-byte `Node` per id in one array allocated at init: `next` and `prev`
// links and the deadline. The array is followed by one sentinel node per wheel slot and two more for
// the pending and scan lists (below). Each list is circular and runs through its sentinel, as the
// Linux kernel's list_head does, so unlinking needs no knowledge of which list holds the node and
// every link operation is a handful of stores. An id that is not scheduled has `next == unlinked`.
// After init nothing allocates: not schedule, cancel nor advance.
//
// Advancing. The wheel keeps `cursorTick`, the first tick whose slot has not been swept; every
// timer in a slot has a deadline at or after it. `advance(to:)` sweeps the slots of ticks
// `cursorTick ... tick`, but each slot at most once per call, so a loop that was blocked for many
// revolutions pays one sweep of the wheel and not one per elapsed tick. A sweep first moves the slot's
// whole list onto the scan list, then takes nodes off its head one by one: a due node is unlinked and
// reported, a node not due goes back to its slot. Because the next node is re-read after every
// callback, the callback may schedule or cancel any id, including the one firing.
//
// Pending list. A deadline at or before the current tick goes on the pending list, which `advance`
// drains before sweeping, so such timers fire on the next call and never in the call that scheduled
// them; a callback that re-arms its own timer "for now" cannot loop. When `limit` expiries have been
// reported, what remains of the scan list is spliced onto the front of the pending list in O(1), and
// the next call resumes with it: work per call is bounded and nothing due is lost.

/// A hashed timing wheel for one worker thread: timers are caller-chosen ids in `0..<capacity`,
/// deadlines are caller-supplied wrapping ticks.
///
/// Memory is 12 bytes per id (see ``bytesPerTimer``) plus 12 bytes per slot, allocated once at init.
/// Scheduling, re-scheduling and cancelling are O(1); ``advance(to:limit:_:)`` visits each slot at
/// most once per call and reports at most `limit` expiries.
///
/// Deadlines are read relative to ``currentTick`` by wrapping difference: a deadline up to
/// 2^31 - 1 ticks later is in the future, any other is in the past and fires on the next advance.
/// The wheel is not thread-safe; each worker owns its own.
public final class TimingWheel {
    /// One id's links and deadline; also the layout of the sentinel nodes after the ids.
    struct Node {
        /// Next node in the list, or `unlinked` when the id is not scheduled (4 bytes).
        var next: UInt32
        /// Previous node in the list (4 bytes).
        var prev: UInt32
        /// Deadline tick; meaningless for sentinels and unscheduled ids (4 bytes).
        var deadlineTick: UInt32
    }

    /// Marks an id that is not scheduled. No node index reaches it (checked at init).
    static let unlinked = UInt32.max

    /// Bytes the wheel keeps per timer id: `next`, `prev` and the deadline, 4 bytes each.
    public static let bytesPerTimer = MemoryLayout<Node>.stride

    /// Number of ids; valid ids are `0..<capacity`.
    public let capacity: Int

    /// Number of slots in the wheel, a power of two. One revolution is `slotCount` ticks.
    public let slotCount: Int

    /// The last tick passed to ``advance(to:limit:_:)``, or the start tick before the first call.
    public var currentTick: UInt32 { state.pointee.currentTick }

    /// Number of timers scheduled.
    public var count: Int { state.pointee.count }

    /// The wheel's mutable scalars. They live behind a pointer rather than in stored `var`s
    /// because a class's stored `var` is checked for exclusive access at run time on every write,
    /// which costs more than the rest of `schedule`.
    struct State {
        /// See ``TimingWheel/currentTick``.
        var currentTick: UInt32
        /// First tick whose slot has not been swept; every node in a slot has a deadline at or
        /// after it.
        var cursorTick: UInt32
        /// See ``TimingWheel/count``.
        var count: Int
    }

    /// The one `State`, allocated at init.
    let state: UnsafeMutablePointer<State>

    /// `slotCount - 1`: a deadline's slot is `deadline & slotMask`.
    let slotMask: UInt32

    /// Index of the first slot sentinel (`capacity`).
    let firstSlotHead: UInt32

    /// Sentinel of the list of timers that are due however far the wheel is advanced.
    let pendingHead: UInt32

    /// Sentinel of the list being swept inside ``advance(to:limit:_:)``; empty between calls.
    let scanHead: UInt32

    /// Ids, then slot sentinels, then the pending and scan sentinels.
    let nodes: UnsafeMutablePointer<Node>

    /// Creates an empty wheel.
    ///
    /// - Parameters:
    ///   - capacity: Number of timer ids; ids are `0..<capacity`. All memory for them is allocated here.
    ///   - slotCount: Number of wheel slots, a power of two. Timers within one revolution
    ///     (`slotCount` ticks) are never looked at before they are due; a larger wheel means fewer
    ///     visits to far-future timers, a smaller one a cheaper sweep after a long stall.
    ///   - startTick: The initial ``currentTick``.
    public init(capacity: Int, slotCount: Int, startTick: UInt32) {
        precondition(capacity >= 0, "capacity must not be negative")
        precondition(slotCount > 0 && slotCount & (slotCount - 1) == 0, "slotCount must be a power of two")
        precondition(slotCount <= 1 << 31, "slotCount must be at most 2^31")
        // Every node index, sentinels included, must stay below `unlinked`.
        precondition(capacity + slotCount + 2 <= Int(UInt32.max), "capacity + slotCount is too large")
        precondition(MemoryLayout<Node>.stride == 12, "Node must stay 12 bytes")

        self.capacity = capacity
        self.slotCount = slotCount
        self.state = .allocate(capacity: 1)
        state.initialize(to: State(currentTick: startTick, cursorTick: startTick &+ 1, count: 0))
        self.slotMask = UInt32(slotCount - 1)
        self.firstSlotHead = UInt32(capacity)
        self.pendingHead = UInt32(capacity + slotCount)
        self.scanHead = UInt32(capacity + slotCount + 1)

        let nodeCount = capacity + slotCount + 2
        nodes = .allocate(capacity: nodeCount)
        nodes.initialize(
            repeating: Node(next: Self.unlinked, prev: Self.unlinked, deadlineTick: 0),
            count: capacity
        )
        for head in capacity..<nodeCount {
            let index = UInt32(head)
            (nodes + head).initialize(to: Node(next: index, prev: index, deadlineTick: 0))
        }
    }

    deinit {
        nodes.deinitialize(count: capacity + slotCount + 2)
        nodes.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// Schedules timer `id` to fire at `deadlineTick`, moving it if it is already scheduled. O(1).
    ///
    /// A deadline at or before ``currentTick`` is recorded as ``currentTick`` and fires on the next
    /// call to ``advance(to:limit:_:)``, even when called from inside that method's callback (then it
    /// fires on the call after). A deadline later than ``currentTick`` fires on the first advance
    /// that reaches it.
    ///
    /// - Parameters:
    ///   - id: Timer id in `0..<capacity`.
    ///   - deadlineTick: Tick at which the timer is due. It must lie within 2^31 - 1 ticks of
    ///     ``currentTick``: a deadline exactly 2^31 ticks away is neither ahead nor behind and
    ///     traps (precondition), and one further ahead wraps and reads as a deadline in the past.
    public func schedule(_ id: UInt32, at deadlineTick: UInt32) {
        precondition(Int(id) < capacity, "timer id out of range")
        let distance = Int32(bitPattern: deadlineTick &- currentTick)
        precondition(distance != Int32.min, "deadline is 2^31 ticks from the current tick")
        if nodes[Int(id)].next == Self.unlinked {
            state.pointee.count += 1
        } else {
            unlink(id)
        }
        if distance <= 0 {
            nodes[Int(id)].deadlineTick = currentTick
            insertTail(id, list: pendingHead)
        } else {
            nodes[Int(id)].deadlineTick = deadlineTick
            insertTail(id, list: slotHead(of: deadlineTick))
        }
    }

    /// Cancels timer `id`. O(1); does nothing if it is not scheduled.
    ///
    /// - Parameter id: Timer id in `0..<capacity`.
    public func cancel(_ id: UInt32) {
        precondition(Int(id) < capacity, "timer id out of range")
        guard nodes[Int(id)].next != Self.unlinked else { return }
        unlink(id)
        nodes[Int(id)].next = Self.unlinked
        state.pointee.count -= 1
    }

    /// Returns whether timer `id` is scheduled.
    ///
    /// - Parameter id: Timer id in `0..<capacity`.
    public func isScheduled(_ id: UInt32) -> Bool {
        precondition(Int(id) < capacity, "timer id out of range")
        return nodes[Int(id)].next != Self.unlinked
    }

    /// Returns the deadline of timer `id`, or `nil` if it is not scheduled.
    ///
    /// A deadline that was in the past when scheduled reads as the tick it was scheduled at.
    ///
    /// - Parameter id: Timer id in `0..<capacity`.
    public func deadline(of id: UInt32) -> UInt32? {
        precondition(Int(id) < capacity, "timer id out of range")
        let node = nodes[Int(id)]
        return node.next == Self.unlinked ? nil : node.deadlineTick
    }

    /// Advances the wheel to `tick` and reports timers that are due, at most `limit` of them.
    ///
    /// A timer is due when its deadline is at or before `tick` by wrapping difference. Each due timer
    /// is unscheduled just before `expired` is called with its id. Timers left unreported because of
    /// `limit` stay scheduled and due, and are reported by the next call (for any `tick`). Timers
    /// scheduled by `expired` for `tick` or earlier are reported by the next call, not this one.
    ///
    /// Each slot is visited at most once per call, so a jump of many revolutions costs one sweep of
    /// the wheel. Within one call timers are reported slot by slot in tick order, so timers fire in
    /// deadline order as long as the wheel advances less than one revolution per call.
    ///
    /// - Parameters:
    ///   - tick: The new current tick. A tick before ``currentTick`` (by wrapping difference) leaves
    ///     it unchanged, so time never runs backwards; such a call only reports pending timers. A
    ///     jump of 2^31 ticks or more cannot be told from a tick in the past.
    ///   - limit: The most expiries to report in this call; `Int.max` for no bound.
    ///   - expired: Called once per due timer with its id. It may schedule or cancel any id,
    ///     including the one it is called for (to re-arm it); it must not call `advance`.
    /// - Returns: The number of expiries reported.
    @discardableResult
    public func advance(to tick: UInt32, limit: Int, _ expired: (UInt32) -> Void) -> Int {
        if Int32(bitPattern: tick &- currentTick) > 0 {
            state.pointee.currentTick = tick
        }
        let now = currentTick
        var fired = 0

        // Timers due before the sweep began, and leftovers of a sweep that hit its limit.
        splice(pendingHead, ontoFrontOf: scanHead)
        guard drainScan(now: now, limit: limit, fired: &fired, expired) else { return fired }

        // Ticks cursorTick...now still to sweep; 0 when cursorTick == now + 1.
        let ticksBehind = Int(now &- state.pointee.cursorTick &+ 1)
        let visits = min(ticksBehind, slotCount)
        for _ in 0..<visits {
            let head = slotHead(of: state.pointee.cursorTick)
            // Every timer still in this slot has a deadline after it once it has been swept.
            state.pointee.cursorTick &+= 1
            splice(head, ontoFrontOf: scanHead)
            guard drainScan(now: now, limit: limit, fired: &fired, expired) else { return fired }
        }
        // After a jump of a revolution or more, every slot has been swept once and holds only timers
        // due after `now`.
        state.pointee.cursorTick = now &+ 1
        return fired
    }
}

/// A wheel belongs to one worker thread.
@available(*, unavailable)
extension TimingWheel: Sendable {}
