import RingEngine
public import RingWebSocket
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

extension Gateway {
    /// Whether a drain began; `/readyz` answers 503 from then on.
    public var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// Stops accepting on every worker and closes each open connection with `code`, spread over
    /// `windowMs`. Returns at once; watch `openConnections` to see the drain finish. Only the
    /// first call has an effect.
    public func drain(code: CloseCode, windowMs: UInt32) {
        guard !draining.exchange(true, ordering: .acquiringAndReleasing) else { return }
        engine.stopAccepting()
        let tag = GatewayMail.drain(code: code, windowMs: windowMs)
        for index in 0..<engine.workerCount {
            // A full mailbox empties within a batch; the drain must reach every worker.
            while !engine.worker(index).post(tag: tag, nil) { usleep(1000) }
        }
    }

    /// Stops accepting (as `drain` does first) and returns once no accept of this process can
    /// take a connection any more: a successor that took the listeners over gets them all.
    public func stopAccepting() { engine.stopAccepting() }

    /// Re-arms the accepts after a takeover, once the previous process stopped accepting.
    public func rearmAccepts() { engine.rearmAccepts() }

    /// The listening sockets, to hand to a process that takes over (before `drain`).
    public var listenerFDs: [Int32] { engine.listenerFDs }
    /// The wss:// listening sockets, likewise (empty without TLS).
    public var tlsListenerFDs: [Int32] { engine.tlsListenerFDs }

    /// Connections the core holds, including those still closing.
    public var openConnections: UInt64 { coreStats.openNow }

    /// The counters of each worker and their sum, for `/metrics`.
    public func metricsSnapshots() -> (total: MetricsSnapshot, workers: [MetricsSnapshot]) {
        let perWorker = workers.indices.map { index in
            MetricsSnapshot(gateway: workers[index].published.withLock { $0 }, core: engine.worker(index).stats)
        }
        return (MetricsSnapshot(gateway: counters, core: coreStats), perWorker)
    }
}
