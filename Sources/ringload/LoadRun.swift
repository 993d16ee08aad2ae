import Histogram
import RingEngine
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs one plan: ramp, hold or measure, close; every phase has a deadline.
struct LoadRun {
    let plan: LoadPlan

    func execute() throws -> LoadResult {
        var config = EngineConfiguration()
        config.listens = false
        config.workers = UInt32(plan.workers)
        config.maxConnections = UInt32(plan.connections)
        config.tickMs = plan.tickMs
        config.receiveBufferBytes = plan.receiveBufferBytes
        config.receiveBufferCount = plan.receiveBufferCount
        config.batchWaitMicroseconds = plan.batchWaitMicroseconds
        config.submissionEntries = 1024
        config.completionEntries = 8192
        config.sendQueueLimitBytes = UInt32(max(1 << 16, plan.messageBytes * plan.inFlight * 4))
        config.sendPoolBytesPerWorker = 0  // sized from the table and buffers, as the gateway's
        let engine: Engine
        do { engine = try Engine(config) } catch { throw LoadError(error.message) }
        let capacity = engine.tableSize * engine.workerCount
        guard capacity >= plan.connections else {
            throw LoadError("\(plan.workers) rings hold \(capacity) connections (\(engine.tableSize) each, capped by the "
                + "open-file limit); use --workers \((plan.connections + engine.tableSize - 1) / engine.tableSize)")
        }

        let frames = ClientFrames(plan: plan)
        let requests = UpgradeRequests(host: plan.host, port: plan.port, path: plan.path)
        var workers: [LoadWorker] = []
        let share = plan.connections / plan.workers
        let anonBefore = plan.serverPID.flatMap(ProcessProbe.anonymousBytes)
        let memBefore = ProcessProbe.memAvailableBytes()
        let slabBefore = ProcessProbe.slabInUseBytes()
        let startNs = LoadWorker.monotonicNs()
        let selfCPUStart = Self.ownCPUSeconds()
        let serverRampCPUStart = plan.serverPID.flatMap(ProcessProbe.cpuSeconds)
        do {
            try engine.start { worker in
                let extra = worker.index < plan.connections % plan.workers ? 1 : 0
                let load = LoadWorker(
                    plan: plan, worker: worker, target: share + extra, tableSize: engine.tableSize, frames: frames,
                    requests: requests)
                workers.append(load)
                return load
            }
        } catch {
            throw LoadError(error.message)
        }
        func total() -> LoadCounters {
            var sum = LoadCounters()
            for worker in workers { sum.add(worker.published.withLock { $0 }) }
            return sum
        }

        var result = LoadResult(plan: plan)
        // Ramp: until every connection is upgraded or has failed, bounded by twice the planned time.
        // Polled every 10 ms (workers publish once per tick), so the CPU shares read over it are
        // not diluted on a ramp that takes under a second.
        let rampLimit = Double(plan.connections) / Double(plan.rampPerSecond) * 2 + 30
        var settled = total()
        var lastRampPrint = 0.0
        while true {
            usleep(10_000)
            settled = total()
            let done = settled.upgraded + settled.connectFailures.values.reduce(0, +) + settled.handshakeFailures
            let elapsed = Self.seconds(since: startNs)
            if elapsed - lastRampPrint >= 1 {
                lastRampPrint = elapsed
                progress("ramp", elapsed, settled)
            }
            if done >= plan.connections { break }
            if elapsed > rampLimit {
                result.rampHitLimit = true
                break
            }
        }
        result.rampSeconds = Self.seconds(since: startNs)
        result.rampLimitSeconds = rampLimit
        result.ownCPUPercentRamp = (Self.ownCPUSeconds() - selfCPUStart) / result.rampSeconds * 100
        if let start = serverRampCPUStart, let end = plan.serverPID.flatMap(ProcessProbe.cpuSeconds) {
            result.serverCPUPercentRamp = (end - start) / result.rampSeconds * 100
        }

        // Hold or measure.
        let holdStartNs = LoadWorker.monotonicNs()
        let holdCounters = settled
        let serverCPUStart = plan.serverPID.flatMap(ProcessProbe.cpuSeconds)
        let holdSelfCPUStart = Self.ownCPUSeconds()
        var lastPrint = 0.0
        var allDeliveredAt: Double?
        while Self.seconds(since: holdStartNs) < plan.durationSeconds {
            usleep(100_000)
            let elapsed = Self.seconds(since: holdStartNs)
            // broadcast ends once every connection has every message, after a short wait for strays.
            if plan.scenario == .broadcast {
                let now = total()
                if allDeliveredAt == nil, now.upgraded > 0, now.messagesReceived >= plan.messages * now.upgraded {
                    allDeliveredAt = elapsed
                }
                if let at = allDeliveredAt, elapsed - at >= 0.3 { break }
            }
            if elapsed - lastPrint >= 1 {
                lastPrint = elapsed
                progress("hold", elapsed, total())
            }
        }
        let holdSeconds = Self.seconds(since: holdStartNs)
        let atEnd = total()
        // Memory is read at the end of the hold, in the steady state the hold was for.
        result.serverRSSBytes = plan.serverPID.flatMap(ProcessProbe.residentBytes)
        if let before = anonBefore, let now = plan.serverPID.flatMap(ProcessProbe.anonymousBytes), atEnd.open > 0 {
            result.serverRSSPerConnection = Double(now - before) / Double(atEnd.open)
        }
        if let before = memBefore, let now = ProcessProbe.memAvailableBytes(), atEnd.open > 0 {
            result.kernelBytesPerConnectionPair = Double(before - now) / Double(atEnd.open)
        }
        if let before = slabBefore, let now = ProcessProbe.slabInUseBytes(), atEnd.open > 0 {
            result.kernelSlabBytesPerConnectionPair = Double(now - before) / Double(atEnd.open)
        }
        result.holdSeconds = holdSeconds
        result.messagesPerSecond = Double(atEnd.messagesReceived - holdCounters.messagesReceived) / holdSeconds
        result.sentPerSecond = Double(atEnd.messagesSent - holdCounters.messagesSent) / holdSeconds
        result.closedByServerInHold = atEnd.closedByServer - holdCounters.closedByServer
        if let start = serverCPUStart, let end = plan.serverPID.flatMap(ProcessProbe.cpuSeconds) {
            result.serverCPUSecondsHold = end - start
        }
        if let start = serverCPUStart, let end = plan.serverPID.flatMap(ProcessProbe.cpuSeconds) {
            result.serverCPUPercent = (end - start) / holdSeconds * 100
        }
        result.ownCPUPercent = (Self.ownCPUSeconds() - holdSelfCPUStart) / holdSeconds * 100
        result.openAtEnd = atEnd.open

        // Trickle and echo: stop sending and wait (bounded) for the replies in flight, so every
        // message sent is accounted for before the probes and the close.
        if plan.scenario == .trickle || plan.scenario == .echo {
            for worker in workers { worker.quiet.store(true, ordering: .relaxed) }
            let settleStartNs = LoadWorker.monotonicNs()
            while Self.seconds(since: settleStartNs) < 10 {
                let now = total()
                if now.messagesReceived >= now.messagesSent { break }
                usleep(50_000)
            }
        }

        // Probe: every connection still open sends one message and must get its echo back
        // (bounded); only those count as held. A broadcast run's server does not echo, so its
        // connections are counted by their deliveries instead.
        if plan.scenario != .broadcast {
            for worker in workers { worker.probeRequested.store(true, ordering: .relaxed) }
            let probeStartNs = LoadWorker.monotonicNs()
            var lastProbePrint = 0.0
            while Self.seconds(since: probeStartNs) < plan.probeTimeoutSeconds {
                usleep(20_000)
                let now = total()
                let elapsed = Self.seconds(since: probeStartNs)
                if now.probedRings == workers.count && now.probesAnswered >= now.probesSent { break }
                if elapsed - lastProbePrint >= 1 {
                    lastProbePrint = elapsed
                    progress("probe", elapsed, now)
                }
            }
            result.probeSeconds = Self.seconds(since: probeStartNs)
            result.probed = true
        }

        // Close: workers send close frames; wait (bounded) for the sockets to go.
        for worker in workers { worker.stopRequested.store(true, ordering: .relaxed) }
        let closeStartNs = LoadWorker.monotonicNs()
        var lastClosePrint = 0.0
        while total().open > 0 && Self.seconds(since: closeStartNs) < 15 {
            usleep(50_000)
            let elapsed = Self.seconds(since: closeStartNs)
            if elapsed - lastClosePrint >= 1 {
                lastClosePrint = elapsed
                progress("close", elapsed, total())
            }
        }
        engine.stop()
        var histogram = Histogram<UInt64>(highestTrackableValue: 120_000_000_000, numberOfSignificantValueDigits: .three)
        var counters = LoadCounters()
        for worker in workers {
            histogram.add(worker.histogram)
            counters.add(worker.counters)
        }
        result.counters = counters
        result.latency = histogram
        if plan.scenario == .broadcast {
            result.broadcast = BroadcastReport(
                tallies: workers.map(\.tally), messagesExpected: plan.messages, subscribers: counters.upgraded)
        }
        result.ownCPUPercentWholeRun = (Self.ownCPUSeconds() - selfCPUStart) / Self.seconds(since: startNs) * 100
        return result
    }

    /// A progress line on stderr, also with --json (scripts keep it in their logs).
    private func progress(_ phase: String, _ seconds: Double, _ c: LoadCounters) {
        let failed = c.connectFailures.values.reduce(0, +) + c.handshakeFailures
        let line = "[\(phase) \(String(format1: seconds))s] open=\(c.open) upgraded=\(c.upgraded) failed=\(failed) "
            + "sent=\(c.messagesSent) received=\(c.messagesReceived) pings=\(c.pingsAnswered) "
            + "probes=\(c.probesAnswered)/\(c.probesSent)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    static func seconds(since startNs: UInt64) -> Double {
        Double(LoadWorker.monotonicNs() &- startNs) / 1e9
    }

    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}

struct LoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension String {
    /// A number with one decimal, without Foundation.
    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(abs(tenths % 10))"
    }
}
