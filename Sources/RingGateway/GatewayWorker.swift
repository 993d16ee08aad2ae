import CRingCore
import RingEngine
import RingTimers
import RingWebSocket
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One worker's WebSocket layer: handshakes, frames, heartbeats and the demo
/// application, for the connections of one engine worker.
///
/// Everything here runs on the worker's thread; per-connection state lives in
/// slot-indexed arrays, so handling a message allocates nothing.
final class GatewayWorker: WorkerHandler {
    let configuration: GatewayConfiguration
    let worker: Worker
    let states: SlotArray<ConnectionState>
    let receivers: SlotArray<FrameReceiver>
    let wheel: TimingWheel
    let application: EchoApplication
    /// Request heads that arrived in pieces, by slot; empty in the common case.
    var handshakes: [UInt32: HandshakeParser] = [:]
    /// Messages (and control frames) spanning buffers, by slot.
    var partials: [UInt32: Reassembly] = [:]
    var controlPartials: [UInt32: Reassembly] = [:]
    /// Slots paused for backpressure, checked on each tick.
    var paused: [UInt32] = []
    var counters = GatewayCounters()
    let published = Mutex(GatewayCounters())
    /// The current tick, read from the clock once per batch.
    var now: UInt32
    /// Set while the gateway drains; see GatewayWorker+Drain.swift.
    var drain = DrainState()

    let pingTicks: UInt32
    let parkTicks: UInt32
    let pongTicks: UInt32
    let idleTicks: UInt32
    let handshakeTicks: UInt32
    let closeTicks: UInt32
    let sendQueueLimit: Int
    let pauseAboveBytes: Int
    let resumeBelowBytes: Int

    init(configuration: GatewayConfiguration, worker: Worker, tableSize: Int) {
        self.configuration = configuration
        self.worker = worker
        states = SlotArray(count: tableSize)
        receivers = SlotArray(count: tableSize)
        now = Self.clockTick(tickMs: configuration.tickMs)
        wheel = TimingWheel(capacity: tableSize, slotCount: configuration.wheelSlots, startTick: now)
        application = EchoApplication()
        pingTicks = configuration.ticks(configuration.pingIntervalMs)
        pongTicks = configuration.ticks(configuration.pongTimeoutMs)
        parkTicks = configuration.parkAfterMs == 0 ? 0 : configuration.ticks(configuration.parkAfterMs)
        idleTicks = configuration.idleTimeoutMs == 0 ? 0 : configuration.ticks(configuration.idleTimeoutMs)
        handshakeTicks = configuration.ticks(configuration.handshakeTimeoutMs)
        closeTicks = configuration.ticks(configuration.closeTimeoutMs)
        sendQueueLimit = Int(configuration.engine.sendQueueLimitBytes)
        pauseAboveBytes = Int(configuration.engine.sendQueueLimitBytes / 2)
        resumeBelowBytes = Int(configuration.engine.sendQueueLimitBytes / 4)
    }

    deinit {
        states.unmap()
        receivers.unmap()
        for var partial in partials.values { partial.release() }
        for var partial in controlPartials.values { partial.release() }
    }

    /// Monotonic milliseconds divided into ticks; wraps after 2^32 ticks.
    static func clockTick(tickMs: UInt32) -> UInt32 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let ms = UInt64(ts.tv_sec) &* 1000 &+ UInt64(ts.tv_nsec) / 1_000_000
        return UInt32(truncatingIfNeeded: ms / UInt64(tickMs))
    }

    func handle(_ events: UnsafeMutableBufferPointer<rg_event>, on _: Worker) {
        now = Self.clockTick(tickMs: configuration.tickMs)
        for index in events.indices {
            let event = events[index]
            switch UInt32(event.kind) {
            case RG_EV_DATA.rawValue:
                received(event)
            case RG_EV_OPEN.rawValue:
                opened(event.slot, generation: event.gen)
            case RG_EV_CLOSED.rawValue:
                closed(event.slot, generation: event.gen)
            case RG_EV_TICK.rawValue:
                tick()
            case RG_EV_MAIL.rawValue:
                received(mail: event.arg)
            default:
                break
            }
        }
    }

    private func opened(_ slot: UInt32, generation: UInt32) {
        states[slot] = ConnectionState(
            generation: generation, lastSeenTick: now, lastMessageTick: now, phase: .handshake, flags: []
        )
        wheel.schedule(slot, at: now &+ handshakeTicks)
        counters.openConnections += 1
    }

    private func received(_ event: rg_event) {
        let slot = event.slot
        let state = states.pointer(slot)
        guard state.pointee.generation == event.gen, state.pointee.phase != .free else { return }
        // A parked connection that was heard from within the park window is busy again.
        if state.pointee.flags.contains(.parked), now &- state.pointee.lastSeenTick < parkTicks {
            state.pointee.flags.remove(.parked)
            worker.unpark(id(slot))
        }
        state.pointee.lastSeenTick = now
        state.pointee.flags.remove(.pingOutstanding)
        let buffer = UnsafeMutableRawBufferPointer(start: event.data, count: Int(event.result))
        switch state.pointee.phase {
        case .handshake:
            handshake(slot, buffer)
        case .open:
            frames(slot, buffer)
        case .closing:
            // After an HTTP answer there is no frame receiver: request bytes are dropped.
            if state.pointee.flags.contains(.upgraded) { frames(slot, buffer) }
        case .free:
            break
        }
    }

    private func closed(_ slot: UInt32, generation: UInt32) {
        let state = states.pointer(slot)
        guard state.pointee.generation == generation, state.pointee.phase != .free else { return }
        state.pointee.phase = .free
        wheel.cancel(slot)
        if !handshakes.isEmpty { handshakes[slot] = nil }
        if !partials.isEmpty { partials.removeValue(forKey: slot)?.releaseAndDiscard() }
        if !controlPartials.isEmpty { controlPartials.removeValue(forKey: slot)?.releaseAndDiscard() }
        counters.openConnections -= 1
    }

    private func tick() {
        _ = wheel.advance(to: now, limit: configuration.expiriesPerTick) { slot in expire(slot) }
        if !paused.isEmpty { resumeDrained() }
        publishCounters()
    }

    /// Makes the counters visible to other threads; also called once after the worker stopped.
    func publishCounters() {
        published.withLock { $0 = counters }
    }

    @inline(__always)
    func id(_ slot: UInt32) -> ConnectionID {
        ConnectionID(slot: slot, generation: states[slot].generation)
    }
}

extension Reassembly {
    /// Releases the storage of a value taken out of a table.
    consuming func releaseAndDiscard() {
        var copy = self
        copy.release()
    }
}
