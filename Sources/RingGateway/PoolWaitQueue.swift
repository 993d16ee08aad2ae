import RingEngine
import RingTopics

/// Messages the gateway owes clients but could not queue because the worker's send pool was
/// dry, kept in order per connection until it has room again.
///
/// The pool keeps a reserve for answers to what has been read, and the gateway stops reading
/// while the pool is down to it (`Worker.sendPressure`), so this queue stays empty in practice;
/// it exists so that a reserve that proved too small (many large reassembled messages finishing
/// at once) costs a delay instead of a closed client or a lost message. Its entries are copies
/// on the heap: allocation is acceptable here, on a path that runs only when the pool is dry.
/// What it holds is bounded by what had been read before reading stopped.
struct PoolWaitQueue {
    enum Message {
        /// Encoded frame bytes, header included.
        case copy([UInt8])
        /// A fan-out frame, still shared.
        case shared(SharedFrame)
        /// Close the connection this way once what is before this has been queued.
        case close(CloseMode)
    }

    /// What happened to one message offered back to the core.
    enum Outcome {
        case queued
        /// The pool is still dry: stop, keep it and everything after it.
        case poolDry
        /// The connection is gone or closing: drop what it was owed.
        case gone
    }

    private struct Owed {
        var generation: UInt32
        var messages: [Message]
    }

    private var bySlot: [UInt32: Owed] = [:]
    /// Slots in the order they first waited, so the longest waiting goes first.
    private var order: [UInt32] = []

    var isEmpty: Bool { bySlot.isEmpty }
    var messageCount: Int { bySlot.values.reduce(0) { $0 + $1.messages.count } }

    /// True when `slot` has messages waiting: a later message must wait behind them.
    func holds(_ slot: UInt32) -> Bool { !bySlot.isEmpty && bySlot[slot] != nil }

    mutating func append(_ slot: UInt32, generation: UInt32, _ message: Message) {
        if var owed = bySlot[slot], owed.generation == generation {
            owed.messages.append(message)
            bySlot[slot] = owed
        } else {
            if bySlot[slot] == nil { order.append(slot) }
            bySlot[slot] = Owed(generation: generation, messages: [message])
        }
    }

    /// The connection closed: what it was owed goes.
    mutating func discard(_ slot: UInt32) {
        guard bySlot.removeValue(forKey: slot) != nil else { return }
        order.removeAll { $0 == slot }
    }

    /// Offers waiting messages to `send`, oldest connection first and in order within one,
    /// until the pool is dry again; returns how many were queued.
    @discardableResult
    mutating func flush(_ send: (UInt32, UInt32, Message) -> Outcome) -> Int {
        var queued = 0
        var finished = 0
        defer { order.removeFirst(finished) }
        for slot in order {
            guard var owed = bySlot[slot] else {
                finished += 1
                continue
            }
            var taken = 0
            var dry = false
            for message in owed.messages {
                let outcome = send(slot, owed.generation, message)
                if case .poolDry = outcome {
                    dry = true
                    break
                }
                if case .gone = outcome {
                    taken = owed.messages.count
                    break
                }
                taken += 1
                queued += 1
            }
            if taken == owed.messages.count {
                bySlot[slot] = nil
                finished += 1
            } else {
                owed.messages.removeFirst(taken)
                bySlot[slot] = owed
            }
            if dry { break }
        }
        return queued
    }
}
