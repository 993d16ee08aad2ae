import Logging
import RingEngine
import RingTopics
import RingGateProtocol
import RingWebSocket
import Synchronization

// Topic changes a client asks for itself (`--client-topics`, ClientTopicCommand). The gateway
// answers the client, and tells the connection's worker with SUBSCRIBED or UNSUBSCRIBED when
// something changed, so the application keeps the last word: it may UNSUBSCRIBE again, or
// SUBSCRIBE with `since` to replay history (a client's own subscribe replays nothing).
extension GatewayWorker {
    /// A text message that starts with NUL, from a connection routed to a worker.
    func clientTopicCommand(_ slot: UInt32, _ message: UnsafeRawBufferPointer) {
        guard let backend, let command = ClientTopicCommand.parse(message) else {
            return refuseClientTopic(slot, .bad, nil)
        }
        guard clientTopicPrefixes.contains(where: { command.topic.starts(with: $0) }) else {
            return refuseClientTopic(slot, .denied, command)
        }
        let name = String(decoding: command.topic, as: UTF8.self)
        switch command.verb {
        case .subscribe:
            let existing = backend.topics.existing(named: name)
            if existing == nil || !subscriptions.contains(slot, existing!.id) {
                let limit = backend.configuration.clientTopicsMax
                guard subscriptions.count(of: slot, upTo: limit) < limit,
                      let topic = backend.topics.topic(named: name, reserve: true)  // nil past --max-topics
                else { return refuseClientTopic(slot, .full, command) }
                if subscriptions.subscribe(slot, to: topic.id) { topic.subscribers.add(1, ordering: .relaxed) }
                releasePending(topic)
                backendCounters.clientSubscribes += 1
                queueTopicEvent(slot, .subscribed, command.topic)
            }
        case .unsubscribe:
            if let topic = backend.topics.existing(named: name), subscriptions.unsubscribe(slot, from: topic.id) {
                unsubscribed(from: topic.id)
                backendCounters.clientUnsubscribes += 1
                queueTopicEvent(slot, .unsubscribed, command.topic)
            }
        }
        replyClientTopic(slot, .ok, command)
    }

    private func refuseClientTopic(_ slot: UInt32, _ reply: ClientTopicReply, _ command: ClientTopicCommand?) {
        backendCounters.clientTopicsRefused += 1
        if let count = clientTopicLog.note(now: now) {
            let what = command.map { "\($0.verb.word) \(String(decoding: $0.topic, as: UTF8.self))" } ?? "a malformed command"
            GatewayLog.logger.notice(
                "client topics: \(reply.word) \(what) from connection \(linkConnectionID(slot)); \(count) refused since the last line")
        }
        replyClientTopic(slot, reply, command)
    }

    private func replyClientTopic(_ slot: UInt32, _ reply: ClientTopicReply, _ command: ClientTopicCommand?) {
        withUnsafeTemporaryAllocation(byteCount: ClientTopicReply.maxBytes, alignment: 1) { buffer in
            let count = reply.write(into: buffer, for: command)
            sendFrame(slot, .text, UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
    }

    private func queueTopicEvent(_ slot: UInt32, _ event: LinkEvent, _ topic: UnsafeRawBufferPointer) {
        guard let link = routedLink(slot), link.alive.load(ordering: .relaxed) else { return }
        let conn = linkConnectionID(slot)
        link.queue(from: worker.index) { writer in
            writer.topicChange(conn: conn, subscribed: event == .subscribed, topic: topic)
        }
        hubNeedsWake = true
    }
}
