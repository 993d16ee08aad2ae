import RingTopics
import Logging
#if canImport(Glibc)
import Glibc
#endif
import RingEngine
import RingGateProtocol
import RingWebSocket
import Synchronization

// Events for application workers: OPEN when an upgrade needs a decision,
// MESSAGE per client message, CLOSED once per OPEN. They are queued on the
// link's outbox; the hub is woken once per batch.
extension GatewayWorker {
    /// The link connection `slot` is routed to, if it is alive.
    @inline(__always)
    func routedLink(_ slot: UInt32) -> BackendLink? {
        let linkID = states[slot].link
        guard linkID != 0, Int(linkID) < linkTable.count, let link = linkTable[Int(linkID)] else { return nil }
        return link
    }

    func linkConnectionID(_ slot: UInt32) -> UInt64 {
        LinkConnectionID(worker: worker.index, slot: slot, generation: states[slot].generation).raw
    }

    /// Picks a worker for a new connection, by the configured policy.
    func chooseLink(for request: UpgradeRequest?, excluding: BackendLink? = nil) -> BackendLink? {
        guard let backend else { return nil }
        let links = backend.directory.links.filter { $0 !== excluding && $0.alive.load(ordering: .relaxed) }
        guard !links.isEmpty else { return nil }
        let key: String?
        switch backend.configuration.route {
        case .leastLoaded:
            key = nil
        case .headerHash(let name):
            key = request?.headers.first { $0.name == name }?.value ?? ""
        case .pathSegmentHash(let index):
            let segments = request?.path.split(separator: "/", omittingEmptySubsequences: true) ?? []
            key = index <= segments.count ? String(segments[index - 1]) : ""
        }
        if let key, request != nil { return RendezvousHash.pick(key, among: links) }
        return links.min { $0.connections.load(ordering: .relaxed) < $1.connections.load(ordering: .relaxed) }
    }

    /// A complete upgrade request while workers are configured: ask one of them.
    func routeUpgrade(_ slot: UInt32, _ request: UpgradeRequest, early: UnsafeRawBufferPointer) {
        guard let backend else { return }
        guard let link = chooseLink(for: request) else {
            if backend.configuration.noWorker == .demo {
                upgrade(slot, request)
                if !early.isEmpty, states[slot].phase == .open { frames(slot, UnsafeMutableRawBufferPointer(mutating: early)) }
            } else {
                backendCounters.upgradesRefused += 1
                refuseUpgrade(slot, request, status: 503, body: "no application worker is connected")
            }
            return
        }
        attach(slot, to: link)
        pendingUpgrades[slot] = PendingUpgrade(request: request, early: Array(early))
        // OPEN carries the client's address; the core reads it asynchronously.
        if peerQueriesWork && worker.queryPeer(id(slot)) { return }
        announce(slot)
    }

    /// The core answered a peer query: OPEN can go out.
    func peerAnswered(_ event: EngineEvent) {
        let slot = event.slot
        guard Int(slot) < states.count, states[slot].generation == event.generation, pendingUpgrades[slot] != nil else { return }
        if event.result < 0 {
            // A kernel without socket getsockopt commands: stop asking, say so once.
            if peerQueriesWork && (event.result == -EINVAL || event.result == -EOPNOTSUPP) {
                peerQueriesWork = false
                GatewayLog.logger.warning("backend: this kernel cannot report client addresses (io_uring getsockopt); OPEN has none")
            }
        } else {
            pendingUpgrades[slot]?.remote = PeerAddress.format(event) ?? ""
        }
        announce(slot)
    }

    /// Sends the OPEN of a pending upgrade to its worker.
    func announce(_ slot: UInt32) {
        guard let pending = pendingUpgrades[slot], !pending.announced, let link = routedLink(slot) else { return }
        pendingUpgrades[slot]?.announced = true
        queueOpen(slot, pending.request, remote: pending.remote, on: link, flags: LinkOpenFlags.decide)
    }

    func attach(_ slot: UInt32, to link: BackendLink) {
        states.pointer(slot).pointee.link = link.id
        if Int(link.id) < linkTable.count { linkTable[Int(link.id)] = link }
        link.connections.add(1, ordering: .relaxed)
    }

    func queueOpen(_ slot: UInt32, _ request: UpgradeRequest?, remote: String = "", on link: BackendLink, flags: UInt8) {
        let conn = linkConnectionID(slot)
        let stored = openRecords[slot]
        link.queue(from: worker.index) { writer in
            writer.open(conn: conn, flags: flags) { fields in
                if let request {
                    fields.openFields(request, remote: remote)
                } else if let stored {
                    fields.raw(stored)
                } else {
                    // Moved without a kept request: the fields are empty.
                    fields.openFields(remote: "", path: "", query: "", protocols: "", headers: EmptyCollection())
                }
            }
        }
        hubNeedsWake = true
    }

    /// Keeps the OPEN fields of an accepted connection when connections may move,
    /// so the next worker learns the same path and headers.
    func rememberOpenFields(_ slot: UInt32, _ request: UpgradeRequest, remote: String) {
        guard backend?.configuration.onWorkerLoss == .move else { return }
        var writer = LinkWriter()
        writer.openFields(request, remote: remote)
        openRecords[slot] = writer.take()
    }

    /// Forwards a client message to its worker; pauses the client while the worker lags.
    func forwardMessage(_ slot: UInt32, _ link: BackendLink, _ kind: MessageKind, _ payload: UnsafeRawBufferPointer) {
        guard link.alive.load(ordering: .relaxed) else {
            backendCounters.eventsLost += 1
            return
        }
        let conn = linkConnectionID(slot)
        let queued = link.queue(from: worker.index) { writer in
            writer.message(conn: conn, kind: kind == .text ? .text : .binary, payload: payload)
        }
        guard queued else {
            backendCounters.eventsLost += 1  // the link failed after the check above
            return
        }
        hubNeedsWake = true
        if link.congested.load(ordering: .relaxed) { pauseForWorker(slot) }
    }

    func pauseForWorker(_ slot: UInt32) {
        let state = states.pointer(slot)
        guard !state.pointee.flags.contains(.waitingForWorker) else { return }
        state.pointee.flags.insert(.waitingForWorker)
        worker.pause(id(slot))
        pausedForWorker.append(slot)
        backendCounters.pausedForWorker += 1
    }

    /// On each tick: clients whose worker caught up (or went away) read again.
    func resumeForWorkers() {
        pausedForWorker.removeAll { slot in
            let state = states.pointer(slot)
            guard state.pointee.phase != .free, state.pointee.flags.contains(.waitingForWorker) else {
                state.pointee.flags.remove(.waitingForWorker)
                return true
            }
            if let link = routedLink(slot), link.alive.load(ordering: .relaxed), link.congested.load(ordering: .relaxed) {
                return false
            }
            state.pointee.flags.remove(.waitingForWorker)
            resumeReading(slot)
            return true
        }
    }

    /// CLOSED for a routed connection, once.
    func reportClosed(_ slot: UInt32, code: UInt16, reason: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) {
        let state = states.pointer(slot)
        guard state.pointee.link != 0, !state.pointee.flags.contains(.closeReported) else { return }
        state.pointee.flags.insert(.closeReported)
        guard let link = routedLink(slot), link.alive.load(ordering: .relaxed) else { return }
        let conn = linkConnectionID(slot)
        link.queue(from: worker.index) { writer in
            writer.closed(conn: conn, code: code, reason: reason)
        }
        hubNeedsWake = true
    }

    /// The slot closed: report it if nobody did, and let go of its link and subscriptions.
    func detachFromBackend(_ slot: UInt32) {
        if !pendingUpgrades.isEmpty { pendingUpgrades[slot] = nil }
        if !openRecords.isEmpty { openRecords[slot] = nil }
        subscriptions.removeAll(slot) { topic in unsubscribed(from: topic) }
        let state = states.pointer(slot)
        guard state.pointee.link != 0 else { return }
        reportClosed(slot, code: CloseCode.abnormalClosure.rawValue)
        routedLink(slot)?.connections.subtract(1, ordering: .relaxed)
        state.pointee.link = 0
    }

    /// FLOW events: tell a worker when its client's queue passes half its limit, and when it drained.
    func noteQueueDepth(_ slot: UInt32) {
        let state = states.pointer(slot)
        guard state.pointee.link != 0, !state.pointee.flags.contains(.slowReported) else { return }
        guard sendQueue.isSlow(with: worker.queuedBytes(id(slot))) else { return }
        state.pointee.flags.insert(.slowReported)
        slowClients.append(slot)
        queueFlow(slot, slow: true)
    }

    func reportDrainedClients() {
        slowClients.removeAll { slot in
            let state = states.pointer(slot)
            guard state.pointee.phase == .open, state.pointee.flags.contains(.slowReported) else {
                state.pointee.flags.remove(.slowReported)
                return true
            }
            guard sendQueue.resumes(with: worker.queuedBytes(id(slot))) else { return false }
            state.pointee.flags.remove(.slowReported)
            queueFlow(slot, slow: false)
            return true
        }
    }

    private func queueFlow(_ slot: UInt32, slow: Bool) {
        guard let link = routedLink(slot), link.alive.load(ordering: .relaxed) else { return }
        let conn = linkConnectionID(slot)
        link.queue(from: worker.index) { writer in
            writer.flow(conn: conn, slow: slow)
        }
        hubNeedsWake = true
    }

    /// Ends a batch: wakes the hub if events were queued.
    func finishBackendBatch() {
        if hubNeedsWake {
            hubNeedsWake = false
            backend?.hub.wake()
        }
    }
}

extension LinkWriter {
    /// OPEN's fields of an upgrade request: the subprotocols the client offered go in their own
    /// field, the other forwarded headers after it (at most 65,535 of them, possible with a
    /// raised --max-header-size).
    mutating func openFields(_ request: UpgradeRequest, remote: String) {
        openFields(
            remote: remote, path: request.path, query: request.query ?? "",
            protocols: request.headers.first { $0.name == "sec-websocket-protocol" }?.value ?? "",
            headers: request.headers.lazy.filter { $0.name != "sec-websocket-protocol" }.map { (name: $0.name, value: $0.value) }
        )
    }
}
