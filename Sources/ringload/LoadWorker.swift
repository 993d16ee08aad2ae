import Histogram
import RingEngine
import RingTimers
import RingWebSocket
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One engine worker's share of the load: opens its connections at the ramp
/// rate, upgrades them, runs the scenario and records latencies.
final class LoadWorker: WorkerHandler {
    let plan: LoadPlan
    let worker: Worker
    let target: Int
    let connections: UnsafeMutablePointer<LoadConnection>
    let tableSize: Int
    let wheel: TimingWheel
    var histogram = Histogram<UInt64>(highestTrackableValue: 120_000_000_000, numberOfSignificantValueDigits: .three)
    var counters = LoadCounters()
    var tally: BroadcastTally
    let published = Mutex(LoadCounters())
    let stopRequested = Atomic<Bool>(false)
    /// trickle and echo: no new messages; replies still count.
    let quiet = Atomic<Bool>(false)
    /// Send every open connection one probe at the next tick (set once, after the hold).
    let probeRequested = Atomic<Bool>(false)
    private var probed = false
    private var stopping = false
    private var destination: Int32 = -1
    private var sources: [Int32] = []
    private var nextSource = 0
    /// This ring's share of --ramp, and of the end-of-hold probes' rate.
    private var ramp: Pace
    private var probePace: Pace
    /// The next slot to probe; the probes leave at their pace and wait out a full send pool.
    private var probeCursor = 0
    /// Connections between connect and upgrade (or failure).
    private var pending = 0
    /// The trickle wheel's time: ticks since the first, counted from the clock, so a ring
    /// woken late fires what came due meanwhile and the trickle keeps its rate.
    private var tick: UInt32 = 0
    private var firstTickNs: UInt64 = 0
    private var nowNs: UInt64 = 0
    private var random = SplitMix(seed: 0x5EED)
    private let frames: ClientFrames
    private let requests: UpgradeRequests
    /// An echo frame larger than one send chunk is stamped here, then copied in by `send`.
    private let echoScratch: UnsafeMutableRawBufferPointer?
    /// Echo sends the send pool refused, one entry each: sent again at the next tick, so a
    /// connection's window never shrinks for good (counted in `sendRefused` and flagged).
    private var owedEchoes: [UInt32] = []

    init(plan: LoadPlan, worker: Worker, target: Int, tableSize: Int, frames: ClientFrames, requests: UpgradeRequests) {
        self.plan = plan
        self.worker = worker
        self.target = target
        self.tableSize = tableSize
        self.frames = frames
        self.requests = requests
        connections = .allocate(capacity: tableSize)
        connections.initialize(repeating: LoadConnection(), count: tableSize)
        wheel = TimingWheel(capacity: tableSize, slotCount: 4096, startTick: 0)
        tally = BroadcastTally(expectedMessages: plan.scenario == .broadcast ? plan.messages : 0)
        let rings = max(1, plan.workers)
        func share(_ rate: Int) -> Int { rate / rings + (worker.index < rate % rings ? 1 : 0) }
        ramp = Pace(perSecond: share(plan.rampPerSecond))
        probePace = Pace(perSecond: max(1, share(plan.probePerSecond)))
        random = SplitMix(seed: 0x5EED &+ UInt64(worker.index))
        if frames.echo.count > Worker.reserveCapacity {
            let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: frames.echo.count, alignment: 8)
            frames.echo.withUnsafeBytes { scratch.copyMemory(from: $0) }
            echoScratch = scratch
        } else {
            echoScratch = nil
        }
    }

    deinit {
        connections.deallocate()
        echoScratch?.deallocate()
    }

    func handle(_ events: UnsafeMutableBufferPointer<EngineEvent>, on _: Worker) {
        nowNs = Self.monotonicNs()
        for event in events {
            switch event.kind {
            case .data:
                received(event.slot, event.generation, UnsafeRawBufferPointer(event.bytes))
            case .open:
                opened(event.slot, event.generation)
            case .closed:
                closed(event.slot, event.generation, cause: event.result)
            case .tick:
                onTick()
            default:
                break
            }
        }
        // Bounded ramp: settled connections make room at once, not at the next tick.
        if plan.maxPendingPerWorker > 0 && destination >= 0 && !stopping { rampUp() }
    }

    static func monotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    private func onTick() {
        if firstTickNs == 0 { firstTickNs = nowNs }
        tick = UInt32(truncatingIfNeeded: (nowNs - firstTickNs) / (UInt64(plan.tickMs) * 1_000_000))
        if destination < 0 { registerAddresses() }
        if stopRequested.load(ordering: .relaxed) && !stopping { stopAll() }
        if probeRequested.load(ordering: .relaxed) && !probed && !stopping { probeSome() }
        if !stopping { rampUp() }
        if !owedEchoes.isEmpty { sendOwedEchoes() }
        if plan.scenario == .trickle && !stopping && !quiet.load(ordering: .relaxed) {
            wheel.advance(to: tick, limit: 100_000) { slot in trickleSend(slot) }
        }
        published.withLock { $0 = counters }
    }

    private func registerAddresses() {
        destination = worker.addAddress(host: plan.host, port: plan.port) ?? -1
        for i in 0..<plan.sourceAddresses {
            if let index = worker.addAddress(host: "127.0.0.\(1 + i)", port: 0) { sources.append(index) }
        }
    }

    private func rampUp() {
        guard counters.connectsStarted < target else { return }
        var budget = ramp.available(at: nowNs)
        if plan.maxPendingPerWorker > 0 { budget = min(budget, plan.maxPendingPerWorker - pending) }
        guard budget > 0 else { return }
        ramp.spend(budget)
        if counters.firstConnectNs == 0 { counters.firstConnectNs = nowNs }
        while budget > 0 && counters.connectsStarted < target {
            budget -= 1
            let source: Int32 = sources.isEmpty ? -1 : sources[nextSource % sources.count]
            nextSource &+= 1
            let variant = counters.connectsStarted % UpgradeRequests.variants
            // The request leaves with the connect (the last link of the core's connect chain).
            switch worker.connect(to: destination, from: source, sending: requests.request(variant)) {
            case .success(let slot):
                connections[Int(slot)] = LoadConnection(
                    generation: connections[Int(slot)].generation, phase: .connecting, requestVariant: UInt8(variant))
                pending += 1
            case .failure(let failure):
                counters.connectFailures[failure.errno, default: 0] += 1
            }
            counters.connectsStarted += 1
        }
    }

    /// Connected, with the upgrade request already sent.
    private func opened(_ slot: UInt32, _ generation: UInt32) {
        let c = connections + Int(slot)
        c.pointee.generation = generation
        c.pointee.phase = .handshake
        counters.open += 1
    }

    private func closed(_ slot: UInt32, _ generation: UInt32, cause: Int32) {
        let c = connections + Int(slot)
        switch c.pointee.phase {
        case .connecting:
            counters.connectFailures[-cause, default: 0] += 1
            pending -= 1
        case .handshake:
            counters.handshakeFailures += 1
            counters.open -= 1
            pending -= 1
        case .open:
            counters.closedByServer += 1
            counters.open -= 1
        case .closing:
            counters.open -= 1
        case .free:
            break
        }
        c.pointee.phase = .free
        wheel.cancel(slot)
    }

    private func received(_ slot: UInt32, _ generation: UInt32, _ bytes: UnsafeRawBufferPointer) {
        let c = connections + Int(slot)
        guard c.pointee.generation == generation else { return }
        var rest = bytes
        if c.pointee.phase == .handshake {
            switch c.pointee.check.consume(bytes, acceptLine: requests.acceptLine(Int(c.pointee.requestVariant))) {
            case .needMore:
                return
            case .refused:
                counters.handshakeFailures += 1
                pending -= 1
                c.pointee.phase = .closing
                worker.close(ConnectionID(slot: slot, generation: generation), .abort)
                return
            case .upgraded(let headBytes):
                c.pointee.phase = .open
                rest = UnsafeRawBufferPointer(rebasing: bytes[headBytes...])
                upgraded(slot, c)
            }
        }
        guard c.pointee.phase == .open || c.pointee.phase == .closing else { return }
        c.pointee.reader.consume(rest) { opcode, prefix, prefixCount in
            frame(slot, c, opcode, prefix, prefixCount)
        }
        // Idle and trickling connections wait parked (a poll, not an armed recv), like the
        // clients they stand for, so the client side adds little kernel memory per pair.
        if plan.scenario == .idle || plan.scenario == .trickle, c.pointee.phase == .open {
            worker.park(ConnectionID(slot: slot, generation: generation))
        }
    }

    private func upgraded(_ slot: UInt32, _ c: UnsafeMutablePointer<LoadConnection>) {
        counters.upgraded += 1
        counters.lastUpgradeNs = nowNs
        pending -= 1
        switch plan.scenario {
        case .idle, .broadcast:
            break
        case .echo:
            for _ in 0..<plan.inFlight { sendEcho(slot, c) }
        case .trickle:
            wheel.schedule(slot, at: tick &+ firstTrickleDelayTicks())
        }
    }

    private func frame(_ slot: UInt32, _ c: UnsafeMutablePointer<LoadConnection>, _ opcode: UInt8, _ prefix: UInt64, _ prefixCount: Int) {
        switch opcode {
        case 0x1, 0x2:
            if prefixCount == 8 && prefix == frames.probePayload {
                if !c.pointee.probeAnswered {
                    c.pointee.probeAnswered = true
                    counters.probesAnswered += 1
                }
                return
            }
            counters.messagesReceived += 1
            switch plan.scenario {
            case .echo where prefixCount == 8:
                histogram.record(nowNs &- prefix)
                c.pointee.inFlight &-= 1
                if !stopping && !quiet.load(ordering: .relaxed) { sendEcho(slot, c) }
            case .trickle:
                histogram.record(nowNs &- c.pointee.sentAtNs)
            case .broadcast where prefixCount == 8:
                broadcastDelivery(c, sentNs: prefix)
            default:
                break
            }
        case 0x9:
            counters.pingsAnswered += 1
            frames.pong.withUnsafeBytes { _ = worker.send(ConnectionID(slot: slot, generation: c.pointee.generation), $0) }
        case 0x8:
            if c.pointee.phase == .open {
                // The code is the payload's first two bytes, big-endian (RFC 6455 section 5.5.1).
                let high = UInt8(truncatingIfNeeded: prefix), low = UInt8(truncatingIfNeeded: prefix >> 8)
                let code = prefixCount >= 2 ? UInt16(high) << 8 | UInt16(low) : 1005
                counters.serverCloseCodes[code, default: 0] += 1
            }
            c.pointee.phase = .closing
            worker.close(ConnectionID(slot: slot, generation: c.pointee.generation))
        default:
            break
        }
    }

    /// A topic delivers in publish order, so each connection's timestamps must rise.
    private func broadcastDelivery(_ c: UnsafeMutablePointer<LoadConnection>, sentNs: UInt64) {
        guard sentNs > c.pointee.sentAtNs else {
            tally.outOfOrder += 1
            return
        }
        c.pointee.sentAtNs = sentNs
        tally.record(sent: sentNs, nowNs: nowNs)
        if nowNs >= sentNs { histogram.record(nowNs - sentNs) }
    }

    private func sendEcho(_ slot: UInt32, _ c: UnsafeMutablePointer<LoadConnection>) {
        let id = ConnectionID(slot: slot, generation: c.pointee.generation)
        let size = frames.echo.count
        // The timestamp rides masked in the first eight payload bytes.
        let stamp = nowNs ^ frames.maskWord
        if let scratch = echoScratch {
            // Larger than a send chunk: stamped here, copied across chunks by `send`.
            scratch.storeBytes(of: stamp, toByteOffset: frames.echoHeaderBytes, as: UInt64.self)
            guard worker.send(id, UnsafeRawBufferPointer(scratch)) == nil else { return oweEcho(slot) }
        } else {
            guard let space = worker.reserve(id, size) else { return oweEcho(slot) }
            frames.echo.withUnsafeBytes { space.copyMemory(from: $0.baseAddress!, byteCount: size) }
            space.storeBytes(of: stamp, toByteOffset: frames.echoHeaderBytes, as: UInt64.self)
            worker.commit(id, size)
        }
        c.pointee.inFlight &+= 1
        counters.messagesSent += 1
        counters.bytesSent += plan.messageBytes
    }

    private func oweEcho(_ slot: UInt32) {
        counters.sendRefused += 1
        owedEchoes.append(slot)
    }

    /// Sends what the pool refused earlier; a connection that closed meanwhile owes nothing.
    private func sendOwedEchoes() {
        let owed = owedEchoes
        owedEchoes.removeAll(keepingCapacity: true)
        guard !stopping, !quiet.load(ordering: .relaxed) else { return }
        for slot in owed {
            let c = connections + Int(slot)
            if c.pointee.phase == .open { sendEcho(slot, c) }
        }
    }

    private func trickleSend(_ slot: UInt32) {
        let c = connections + Int(slot)
        guard c.pointee.phase == .open else { return }
        let id = ConnectionID(slot: slot, generation: c.pointee.generation)
        if frames.trickle.withUnsafeBytes({ worker.send(id, $0) }) == nil {
            c.pointee.sentAtNs = nowNs
            counters.messagesSent += 1
            counters.bytesSent += 1
        } else {
            counters.sendRefused += 1
        }
        wheel.schedule(slot, at: tick &+ trickleDelayTicks())
    }

    /// The wait before a connection's first message, drawn from the stationary distribution of
    /// the gaps (density P(gap > x) / mean gap): with uniform gaps on [min, max], a uniform wait
    /// on [0, min] with probability min / mean, else max - (max - min) * sqrt(U). Then the whole
    /// run sends at the nominal rate (connections / mean gap) from the moment each is up; a first
    /// wait drawn like the other gaps leaves a hold that starts after the ramp short of it.
    private func firstTrickleDelayTicks() -> UInt32 {
        let low = Double(plan.trickleMinMs), high = Double(plan.trickleMaxMs), mean = (low + high) / 2
        let u = Double(random.next() >> 11) / Double(1 << 53)
        let ms: Double
        if u < low / mean {
            ms = u / (low / mean) * low
        } else {
            let v = Double(random.next() >> 11) / Double(1 << 53)
            ms = high - (high - low) * v.squareRoot()
        }
        return UInt32(max(1, ms / Double(plan.tickMs)))
    }

    private func trickleDelayTicks() -> UInt32 {
        let span = UInt64(max(0, plan.trickleMaxMs - plan.trickleMinMs))
        let ms = UInt64(plan.trickleMinMs) + (span == 0 ? 0 : random.next() % (span + 1))
        return UInt32(max(1, ms / UInt64(plan.tickMs)))
    }

    /// Sends each open connection one probe, whose echo proves the connection is still held
    /// end to end (a socket the kernel keeps open proves nothing about the server's side).
    /// The probes leave at --probe-rate, not all at once: a burst of a million sends is the
    /// client core's kernel work for both ends, and would starve the rings' pong replies.
    private func probeSome() {
        var budget = probePace.available(at: nowNs)
        var sent = 0
        while budget > 0 && probeCursor < tableSize {
            let slot = probeCursor
            if connections[slot].phase == .open {
                let id = ConnectionID(slot: UInt32(slot), generation: connections[slot].generation)
                switch frames.probe.withUnsafeBytes({ worker.send(id, $0) }) {
                case nil:
                    counters.probesSent += 1
                    sent += 1
                    budget -= 1
                case .full?, .poolDry?:
                    // The send pool is spent: the rest wait for the next tick.
                    probePace.spend(sent)
                    return
                case .stale?, .closing?:
                    break
                }
                // A parked connection stays parked: the echo wakes its poll.
            }
            probeCursor += 1
        }
        probePace.spend(sent)
        if probeCursor == tableSize {
            probed = true
            counters.probedRings = 1
        }
    }

    /// Ends the run: a close frame to every open connection, then the TCP close.
    private func stopAll() {
        stopping = true
        for slot in 0..<tableSize {
            let c = connections + slot
            let id = ConnectionID(slot: UInt32(slot), generation: c.pointee.generation)
            switch c.pointee.phase {
            case .open:
                frames.close.withUnsafeBytes { _ = worker.send(id, $0) }
                c.pointee.phase = .closing
                worker.close(id, .linger)
            case .handshake, .connecting:
                c.pointee.phase = .closing
                pending -= 1
                worker.close(id, .abort)
            case .closing, .free:
                break
            }
        }
    }
}
