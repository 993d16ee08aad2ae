import RingEngine
import RingTopics
import RingGateProtocol
import RingTimers
import RingWebSocket
import Synchronization

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
    /// Per-connection rate windows; mapped only once a rate limit is configured.
    var rates: SlotArray<RateWindow>?
    let wheel: TimingWheel
    let application: EchoApplication
    /// Request heads that arrived in pieces, by slot; empty in the common case.
    var handshakes: [UInt32: HandshakeParser] = [:]
    /// Messages (and control frames) spanning buffers, by slot.
    var partials: ReassemblyPool
    /// Slots paused for backpressure, checked on each tick.
    var paused: [UInt32] = []
    /// Messages owed to clients while the send pool was dry; see PoolWaitQueue.swift.
    var poolWait = PoolWaitQueue()
    /// Some client was paused because the send pool was down to its reserve.
    var pausedForPool = false
    var poolLog: LogThrottle
    var reliefLog: LogThrottle
    /// While the send pool is pressed: each holder's queue and since when it has not shrunk.
    var stalls: [UInt32: PoolReliefPolicy.Stall] = [:]
    /// The tick the pool left its reserve, while `stalls` are kept through a short relief.
    var pressureGoneSince: UInt32?
    var counters = GatewayCounters()
    let published = Mutex(GatewayCounters())

    // The worker link; all of it is idle (and empty) without --backend-socket.
    let backend: BackendContext?
    /// Links by id, as routed by this thread.
    var linkTable: [BackendLink?]
    var pendingUpgrades: [UInt32: PendingUpgrade] = [:]
    /// OPEN fields of accepted connections, kept only when connections may move.
    var openRecords: [UInt32: [UInt8]] = [:]
    var inboxRecords = LinkWriter()
    var hubNeedsWake = false
    /// False once the kernel refused a peer query: OPEN goes out without an address.
    var peerQueriesWork = true
    var subscriptions: SubscriberSets
    var fanouts: [FanoutJob] = []
    /// Fan-outs in progress at most; past it the inbox waits (GatewayWorker+Inbox.swift).
    static let fanoutBacklogLimit = 256
    /// Records were left for a full fan-out backlog: go on once there is room.
    var inboxWaiting = false
    /// Where the next record of `inboxRecords` starts while some wait.
    var inboxOffset = 0
    var pausedForWorker: [UInt32] = []
    var slowClients: [UInt32] = []
    /// Log lines about slow-client drops and refused client topic commands, throttled.
    var dropLog: LogThrottle
    var clientTopicLog: LogThrottle
    /// `--client-topics` prefixes as bytes; empty when clients may not change topics.
    let clientTopicPrefixes: [[UInt8]]
    var backendCounters = BackendCounters()
    let publishedBackend = Mutex(BackendCounters())
    static let continueTag: UInt64 = 0x66616E6F  // "fano": more fan-out to deliver
    /// The current tick, read from `clock` once per batch.
    var now: UInt32
    let clock: TickClock
    /// Set while the gateway drains; see GatewayWorker+Drain.swift.
    var drain = DrainState()

    /// Message, header and rate limits and timeouts; see ConnectionLimits.swift.
    var limits: ConnectionLimits
    /// A new set from a reload, waiting for the worker's thread; see GatewayWorker+Reload.swift.
    let reloadedLimits = Mutex<ConnectionLimits?>(nil)
    /// The per-connection queue limit and what a full queue means; see SendQueuePolicy.swift.
    let sendQueue: SendQueuePolicy

    init(configuration: GatewayConfiguration, worker: Worker, tableSize: Int, backend: BackendContext?, clock: TickClock) {
        self.configuration = configuration
        self.worker = worker
        self.backend = backend
        linkTable = backend.map { [BackendLink?](repeating: nil, count: $0.configuration.maxLinks + 1) } ?? []
        subscriptions = SubscriberSets(tableSize: tableSize)
        states = SlotArray(count: tableSize)
        receivers = SlotArray(count: tableSize)
        partials = ReassemblyPool(tableSize: tableSize)
        limits = ConnectionLimits(configuration)
        rates = limits.limitsRate ? SlotArray(count: tableSize) : nil
        self.clock = clock
        now = clock.now()
        wheel = TimingWheel(capacity: tableSize, slotCount: configuration.wheelSlots, startTick: now)
        application = EchoApplication()
        sendQueue = SendQueuePolicy(limit: Int(configuration.engine.sendQueueLimitBytes), slowClients: configuration.slowClientPolicy)
        dropLog = LogThrottle(intervalTicks: configuration.ticks(10_000))
        poolLog = LogThrottle(intervalTicks: configuration.ticks(10_000))
        reliefLog = LogThrottle(intervalTicks: configuration.ticks(10_000))
        clientTopicLog = LogThrottle(intervalTicks: configuration.ticks(10_000))
        clientTopicPrefixes = backend == nil ? [] : configuration.backend.clientTopicPrefixes.map { Array($0.utf8) }
    }

    deinit {
        states.unmap()
        receivers.unmap()
        rates?.unmap()
        subscriptions.release()
        partials.release()
    }

    func handle(_ events: UnsafeMutableBufferPointer<EngineEvent>, on _: Worker) {
        now = clock.now()
        for index in events.indices {
            let event = events[index]
            switch event.kind {
            case .data:
                received(event)
            case .open:
                opened(event.slot, generation: event.generation)
            case .closed:
                closed(event.slot, generation: event.generation)
            case .tick:
                tick()
            case .mail where event.arg == WorkerInbox.mailTag:
                takeInbox()
            case .peer:
                peerAnswered(event)
            case .mail where event.arg == Self.continueTag:
                break  // the fan-out below continues
            case .mail:
                received(mail: event.arg)
            case nil:
                break
            }
        }
        if !poolWait.isEmpty || pausedForPool { catchUpWithPool() }
        if backend != nil { finishBatch() }
    }

    /// Fan-outs go on in bounded steps; a step left over asks for another turn.
    private func finishBatch() {
        var more = continueFanouts()
        if inboxWaiting, fanouts.count < Self.fanoutBacklogLimit, !worker.sendPressure {
            takeInbox()
            more = !fanouts.isEmpty
        }
        // Fan-outs held back by send-pool pressure go on at the next tick or completion batch,
        // not in a loop of wake-ups.
        if more, !worker.sendPressure { _ = worker.post(tag: Self.continueTag, nil) }
        finishBackendBatch()
    }

    private func opened(_ slot: UInt32, generation: UInt32) {
        states[slot] = ConnectionState(
            generation: generation, lastSeenTick: now, lastMessageTick: now, phase: .handshake, flags: []
        )
        wheel.schedule(slot, at: now &+ limits.handshakeTicks)
        rates?[slot] = RateWindow(windowStart: 0, messages: 0, bytes: 0)
        counters.openConnections += 1
    }

    private func received(_ event: EngineEvent) {
        let slot = event.slot
        let state = states.pointer(slot)
        guard state.pointee.generation == event.generation, state.pointee.phase != .free else { return }
        // A parked connection that was heard from within the park window is busy again.
        if limits.heartbeats.unparks(parked: state.pointee.flags.contains(.parked), lastSeen: state.pointee.lastSeenTick, now: now) {
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
            if worker.sendPressure { pauseForPool(slot) }
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
        if backend != nil { detachFromBackend(slot) }
        if !handshakes.isEmpty { handshakes[slot] = nil }
        partials.discard(slot)
        if !poolWait.isEmpty { poolWait.discard(slot) }
        counters.openConnections -= 1
    }

    private func tick() {
        _ = wheel.advance(to: now, limit: configuration.expiriesPerTick) { slot in expire(slot) }
        relievePool()
        if !paused.isEmpty { resumeDrained() }
        if !pausedForWorker.isEmpty { resumeForWorkers() }
        if !slowClients.isEmpty { reportDrainedClients() }
        publishCounters()
    }

    /// Makes the counters visible to other threads; also called once after the worker stopped.
    func publishCounters() {
        published.withLock { $0 = counters }
        if backend != nil { publishedBackend.withLock { $0 = backendCounters } }
    }

    @inline(__always)
    func id(_ slot: UInt32) -> ConnectionID {
        ConnectionID(slot: slot, generation: states[slot].generation)
    }
}
