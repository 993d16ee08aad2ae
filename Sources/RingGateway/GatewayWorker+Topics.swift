import RingEngine
import RingTopics
import RingGateProtocol
import Synchronization

/// A fan-out in progress on this thread: a topic's list (or every connection)
/// walked a bounded number of recipients per loop turn.
struct FanoutJob {
    /// 0 for a broadcast to every connection.
    let topic: UInt32
    let frame: SharedFrame
    var cursor = 0
    let end: Int
}

extension GatewayWorker {
    /// Subscribes `slot`, first replaying what it missed since `since` (up to the
    /// publish the hub had numbered when it queued this command, so nothing comes twice).
    func subscribe(_ slot: UInt32, to topic: Topic, since: UInt64?, upTo: UInt64) {
        if let since {
            let nowMs = BackendHub.monotonicMs()
            let missed = topic.history.withLock { $0.missed(since: since, upTo: upTo, nowMs: nowMs) }
            if let missed {
                for frame in missed { replay(slot, frame) }
            } else {
                backendCounters.historyGaps += 1
                queueGap(slot, topic: topic, since: since)
            }
        }
        if subscriptions.subscribe(slot, to: topic.id) { topic.subscribers.add(1, ordering: .relaxed) }
    }

    /// A subscription to `topicID` on this thread ended; the topic goes once nothing keeps it.
    func unsubscribed(from topicID: UInt32) {
        guard let topics = backend?.topics, let topic = topics.topic(id: topicID) else { return }
        if topic.subscribers.subtract(1, ordering: .relaxed).newValue == 0, topics.removeIfUnused(topic) {
            backendCounters.topicsReclaimed += 1
        }
    }

    /// A reserved subscribe (TopicRegistry.topic(named:reserve:)) was applied or dropped.
    func releasePending(_ topic: Topic) {
        if backend?.topics.release(pendingOf: topic) == true { backendCounters.topicsReclaimed += 1 }
    }

    private func queueGap(_ slot: UInt32, topic: Topic, since: UInt64) {
        guard let link = routedLink(slot), link.alive.load(ordering: .relaxed) else { return }
        let conn = linkConnectionID(slot)
        let evicted = topic.history.withLock { $0.evictedUpTo }
        link.queue(from: worker.index) { writer in
            writer.gap(conn: conn, since: since, evictedUpTo: evicted, topic: topic.name)
        }
        hubNeedsWake = true
    }

    func startFanout(topic: UInt32, _ frame: SharedFrame) {
        let end = topic == 0 ? states.count : subscriptions.beginFanout(topic)
        guard end > 0 else { return }
        fanouts.append(FanoutJob(topic: topic, frame: frame, end: end))
        backendCounters.fanoutBacklogPeak = max(backendCounters.fanoutBacklogPeak, UInt64(fanouts.count))
    }

    /// Delivers up to the configured batch of fan-out sends; true when work remains.
    func continueFanouts() -> Bool {
        guard !fanouts.isEmpty, let backend else { return false }
        var budget = backend.configuration.fanoutBatch
        // Each step is at most one batch of sends: the pool's reserve of reference chunks
        // (an eighth of them, at least 8,192) covers one.
        while budget > 0, !fanouts.isEmpty, !worker.sendPressure {
            var job = fanouts[0]
            let stop = min(job.end, job.cursor + budget)
            while job.cursor < stop {
                let slot = job.topic == 0 ? UInt32(job.cursor) : subscriptions.slot(job.topic, at: job.cursor)
                job.cursor += 1
                guard slot != SubscriberSets.removed else { continue }
                let state = states[slot]
                guard state.phase == .open, !state.flags.contains(.closeSent) else { continue }
                if sendShared(slot, job.frame) {
                    backendCounters.deliveries += 1
                    if state.link != 0 { noteQueueDepth(slot) }
                }
            }
            budget -= stop - (fanouts[0].cursor)
            if job.cursor >= job.end {
                if job.topic != 0 { subscriptions.endFanout(job.topic) }
                fanouts.removeFirst()
            } else {
                fanouts[0] = job
            }
        }
        return !fanouts.isEmpty
    }

    /// Sends a frame kept in topic history.
    func replay(_ slot: UInt32, _ frame: SharedFrame) {
        if sendShared(slot, frame) { backendCounters.deliveries += 1 }
    }
}
