import RingEngine
import RingTopics
import RingGateProtocol
import RingWebSocket
import Synchronization

// Commands from application workers, validated by the hub and queued in this
// thread's inbox. A command naming a connection that closed meanwhile, or one
// routed to another worker, is ignored and counted: closes race with commands.
extension GatewayWorker {
    func takeInbox() {
        guard let backend else { return }
        // Each PUBLISH starts a fan-out that takes several loop turns for a large topic. With the
        // backlog full, the rest of the records wait, in order, until fan-outs finish
        // (finishBatch); new ones wait in the inbox, whose bytes count against its limit, so
        // the hub stops reading the publishing worker instead of this thread piling up
        // fan-outs without bound. The same wait holds while the send pool is down to its
        // reserve (Worker.sendPressure): records that send wait until clients drain it.
        var took = false
        while true {
            if inboxRecords.isEmpty {
                backend.inbox.take(into: &inboxRecords)
                took = true
            }
            let finished = inboxRecords.bytes.withUnsafeBytes { raw in
                while fanouts.count < Self.fanoutBacklogLimit, !worker.sendPressure {
                    guard case .frame(let type, let body, let size) = LinkFrameScan.next(
                        in: UnsafeRawBufferPointer(rebasing: raw[inboxOffset...]), maxFrame: UInt32.max
                    ) else { return true }
                    inboxOffset += size
                    var reader = LinkReader(body)
                    // Records were built by the hub, so a short one is a bug, not input: skip it.
                    try? execute(type, &reader)
                }
                return false
            }
            guard finished else {
                if !inboxWaiting { backendCounters.fanoutWaits += 1 }
                inboxWaiting = true
                return
            }
            inboxOffset = 0
            inboxRecords.reset()
            inboxWaiting = false
            // Records left from an earlier turn are done: what the hub queued meanwhile (its
            // mail may have been spent on this turn) is taken now.
            if took { return }
        }
    }

    private func execute(_ type: UInt8, _ reader: inout LinkReader) throws(LinkMalformed) {
        guard let record = InboxRecord(rawValue: type) else { return }
        switch record {
        case .fanout:
            let topic = try reader.u32()
            startFanout(topic: topic, SharedFrame.takeRetained(try reader.u64()))
        case .linkDown:
            linkDown(try reader.u16())
        case .presence:
            let collector = PresenceCollector.takeRetained(try reader.u64())
            let topic = try reader.u32()
            let start = Int(try reader.u32())
            let take = Int(try reader.u32())
            let ids = subscriptions.slots(topic, start: start, take: take).map { linkConnectionID($0) }
            if collector.add(worker: worker.index, ids: ids, count: subscriptions.count(topic)) { hubNeedsWake = true }
        case .sendMany:
            let link = try reader.u16()
            let kind = try reader.u8()
            let count = Int(try reader.u32())
            let ids = try reader.bytes(count * 8)
            let payload = reader.rest()
            // One encoded frame for all of them, queued by reference.
            let frame = SharedFrame(opcode: kind == LinkPayloadKind.text.rawValue ? .text : .binary, payload: payload)
            for index in 0..<count {
                let raw = UInt64(littleEndian: ids.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
                if let slot = ownedSlot(raw, link: link, phase: .open), sendShared(slot, frame) { noteQueueDepth(slot) }
            }
        case .subscribeMany:
            let link = try reader.u16()
            let topic = try reader.u32()
            let upTo = try reader.u64()
            let count = Int(try reader.u32())
            guard let topic = backend?.topics.topic(id: topic) else { return }  // reserved by the hub: never nil
            defer { releasePending(topic) }
            for _ in 0..<count {
                if let slot = ownedSlot(try reader.u64(), link: link, phase: .open) {
                    subscribe(slot, to: topic, since: nil, upTo: upTo)
                }
            }
        case .draining:
            break
        case .accept, .reject, .send, .close, .subscribe, .unsubscribe:
            try connectionCommand(record, &reader)
        }
    }

    private func connectionCommand(_ record: InboxRecord, _ reader: inout LinkReader) throws(LinkMalformed) {
        let link = try reader.u16()
        let raw = try reader.u64()
        switch record {
        case .accept:
            let subprotocol = try reader.str16()
            guard let slot = ownedSlot(raw, link: link, phase: .handshake), var pending = pendingUpgrades.removeValue(forKey: slot) else { return }
            pending.request.subprotocol = chosenSubprotocol(String(decoding: subprotocol, as: UTF8.self), offered: pending.request)
            rememberOpenFields(slot, pending.request, remote: pending.remote)
            upgrade(slot, pending.request)
            if !pending.early.isEmpty, states[slot].phase == .open {
                pending.early.withUnsafeMutableBytes { frames(slot, $0) }
            }
        case .reject:
            let status = try reader.u16()
            let body = reader.rest()
            guard let slot = ownedSlot(raw, link: link, phase: .handshake), let pending = pendingUpgrades.removeValue(forKey: slot) else { return }
            backendCounters.upgradesRejected += 1
            counters.handshakesRejected += 1
            states.pointer(slot).pointee.flags.insert(.closeReported)  // the worker decided: no CLOSED owed
            refuseUpgrade(slot, pending.request, status: Int(status), body: String(decoding: body, as: UTF8.self))
        case .send:
            let kind = try reader.u8()
            let payload = reader.rest()
            guard let slot = ownedSlot(raw, link: link, phase: .open) else { return }
            deliver(slot, kind, payload)
        case .close:
            let code = try reader.u16()
            let reason = reader.rest()
            if let slot = ownedSlot(raw, link: link, phase: .open) {
                reportClosed(slot, code: code, reason: reason)
                closeWithFrame(slot) { buffer in FrameEncoder.writeClose(into: buffer, code: code, reason: reason) }
            } else if let slot = ownedSlot(raw, link: link, phase: .handshake), let pending = pendingUpgrades.removeValue(forKey: slot) {
                // Closing an undecided upgrade refuses it.
                states.pointer(slot).pointee.flags.insert(.closeReported)
                backendCounters.upgradesRejected += 1
                refuseUpgrade(slot, pending.request, status: 403, body: "refused by the application")
            }
        case .subscribe:
            let topic = try reader.u32()
            let hasSince = try reader.u8() != 0
            let since = try reader.u64()
            let upTo = try reader.u64()
            guard let topic = backend?.topics.topic(id: topic) else { return }  // reserved by the hub: never nil
            defer { releasePending(topic) }
            guard let slot = ownedSlot(raw, link: link, phase: .open) else { return }
            subscribe(slot, to: topic, since: hasSince ? since : nil, upTo: upTo)
        case .unsubscribe:
            let topic = try reader.u32()
            guard let slot = ownedSlot(raw, link: link, phase: .open) else { return }
            if subscriptions.unsubscribe(slot, from: topic) { unsubscribed(from: topic) }
        default:
            return
        }
    }

    /// The slot `raw` names when it is still that connection, routed to `link`, in `phase`.
    private func ownedSlot(_ raw: UInt64, link: UInt16, phase: ConnectionPhase) -> UInt32? {
        let id = LinkConnectionID(raw)
        guard id.worker == worker.index, Int(id.slot) < states.count else {
            backendCounters.staleCommands += 1
            return nil
        }
        let state = states[id.slot]
        guard state.generation & 0xFF_FFFF == id.generation, state.phase == phase, state.link == link,
              !state.flags.contains(.closeSent)
        else {
            backendCounters.staleCommands += 1
            return nil
        }
        if phase == .handshake, pendingUpgrades[id.slot] == nil {
            backendCounters.staleCommands += 1
            return nil
        }
        return id.slot
    }

    /// The worker's subprotocol when the client offered it; none otherwise.
    private func chosenSubprotocol(_ chosen: String, offered request: UpgradeRequest) -> String? {
        guard !chosen.isEmpty else { return request.subprotocol }
        let offers = request.headers.first { $0.name == "sec-websocket-protocol" }?.value ?? ""
        let tokens = offers.split(separator: ",").map { $0.trimmingCharacters(in: " \t") }
        return tokens.contains(chosen) ? chosen : nil
    }

    /// Sends a worker's message to its client under the slow-client policy.
    private func deliver(_ slot: UInt32, _ kind: UInt8, _ payload: UnsafeRawBufferPointer) {
        if sendFrame(slot, kind == LinkPayloadKind.text.rawValue ? .text : .binary, payload) {
            noteQueueDepth(slot)
        }
    }

    /// A link failed: its connections move to another worker or close, by configuration.
    private func linkDown(_ linkID: UInt16) {
        guard let backend else { return }
        let lost = Int(linkID) < linkTable.count ? linkTable[Int(linkID)] : nil
        for slot in 0..<UInt32(states.count) {
            let state = states.pointer(slot)
            guard state.pointee.phase != .free, state.pointee.link == linkID else { continue }
            let pending = pendingUpgrades[slot]
            lost?.connections.subtract(1, ordering: .relaxed)
            state.pointee.link = 0
            state.pointee.flags.remove(.closeReported)
            if state.pointee.phase == .handshake || state.pointee.phase == .open,
               backend.configuration.onWorkerLoss == .move, let next = chooseLink(for: nil, excluding: lost) {
                attach(slot, to: next)
                backendCounters.connectionsMoved += 1
                if let pending {
                    // Not yet announced: the peer answer will announce it to the new worker.
                    if pending.announced {
                        queueOpen(slot, pending.request, remote: pending.remote, on: next, flags: LinkOpenFlags.decide)
                    }
                } else {
                    queueOpen(slot, nil, on: next, flags: LinkOpenFlags.moved)
                }
                continue
            }
            state.pointee.flags.insert(.closeReported)
            if let pending {
                pendingUpgrades[slot] = nil
                backendCounters.upgradesRefused += 1
                refuseUpgrade(slot, pending.request, status: 503, body: "the application worker went away")
            } else if state.pointee.phase == .open {
                backendCounters.connectionsClosedOnLoss += 1
                let code: CloseCode = backend.configuration.onWorkerLoss == .move ? .serviceRestart : .internalError
                closeWithFrame(slot, code: code, reason: "application worker lost")
            }
        }
        if Int(linkID) < linkTable.count, linkTable[Int(linkID)] === lost { linkTable[Int(linkID)] = nil }
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var text = self
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return String(text)
    }
}
