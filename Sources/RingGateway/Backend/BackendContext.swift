import RingTopics
import RingWebSocket

/// What one gateway thread needs of the worker link.
final class BackendContext: Sendable {
    let hub: BackendHub
    let inbox: WorkerInbox
    let workerIndex: Int

    init(hub: BackendHub, inbox: WorkerInbox, workerIndex: Int) {
        self.hub = hub
        self.inbox = inbox
        self.workerIndex = workerIndex
    }

    var configuration: BackendConfiguration { hub.configuration }
    var directory: BackendDirectory { hub.directory }
    var topics: TopicRegistry { hub.topics }
}

/// An upgrade waiting for a worker's ACCEPT or REJECT.
struct PendingUpgrade {
    var request: UpgradeRequest
    /// Bytes the client sent behind its request (frames it pipelined), replayed on ACCEPT.
    var early: [UInt8] = []
    /// The client's address, once the core answered the peer query.
    var remote = ""
    /// Whether OPEN went out (it waits for the peer address).
    var announced = false
}
