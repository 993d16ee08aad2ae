import RingTopics
/// Counters of the worker link, kept by the hub thread and the gateway threads.
public struct BackendCounters: Sendable, Equatable {
    public var linksAccepted: UInt64 = 0
    public var linksOpen: UInt64 = 0
    /// Links closed for a protocol error (bad length, unknown type, unknown id...).
    public var linkProtocolErrors: UInt64 = 0
    /// Of those, links closed for silence: no HELLO in time, or a frame begun and never finished.
    public var linkTimeouts: UInt64 = 0
    /// Events that were queued for a worker whose link failed.
    public var eventsLost: UInt64 = 0
    /// Commands naming a connection that closed meanwhile or belongs to another worker.
    public var staleCommands: UInt64 = 0
    /// Upgrades answered 503: no worker connected, or none decided in time.
    public var upgradesRefused: UInt64 = 0
    public var upgradesRejected: UInt64 = 0
    public var connectionsMoved: UInt64 = 0
    public var connectionsClosedOnLoss: UInt64 = 0
    /// Clients paused because their worker's queue was full.
    public var pausedForWorker: UInt64 = 0
    public var publishes: UInt64 = 0
    public var deliveries: UInt64 = 0
    public var historyGaps: UInt64 = 0
    /// Publishes delivered but not kept in history: their seq was not above the topic's last.
    public var historyNotKept: UInt64 = 0
    public var topicsRefused: UInt64 = 0
    /// Topics removed because nothing kept them: no subscriber, no pending subscribe, no history.
    public var topicsReclaimed: UInt64 = 0
    /// Topic changes clients made themselves (`--client-topics`).
    public var clientSubscribes: UInt64 = 0
    public var clientUnsubscribes: UInt64 = 0
    /// Client control messages refused: a topic outside the prefixes, a full connection or
    /// gateway, or a malformed message.
    public var clientTopicsRefused: UInt64 = 0
    /// Times a gateway thread left its inbox queued because its fan-out backlog was full
    /// (the hub then stops reading the publishing worker once the inbox passes its limit).
    public var fanoutWaits: UInt64 = 0
    /// The most fan-outs one gateway thread had in progress at once (a maximum, not a sum).
    public var fanoutBacklogPeak: UInt64 = 0

    public init() {}

    public mutating func add(_ other: BackendCounters) {
        linksAccepted += other.linksAccepted
        linksOpen += other.linksOpen
        linkProtocolErrors += other.linkProtocolErrors
        linkTimeouts += other.linkTimeouts
        eventsLost += other.eventsLost
        staleCommands += other.staleCommands
        upgradesRefused += other.upgradesRefused
        upgradesRejected += other.upgradesRejected
        connectionsMoved += other.connectionsMoved
        connectionsClosedOnLoss += other.connectionsClosedOnLoss
        pausedForWorker += other.pausedForWorker
        publishes += other.publishes
        deliveries += other.deliveries
        historyGaps += other.historyGaps
        historyNotKept += other.historyNotKept
        topicsRefused += other.topicsRefused
        topicsReclaimed += other.topicsReclaimed
        clientSubscribes += other.clientSubscribes
        clientUnsubscribes += other.clientUnsubscribes
        clientTopicsRefused += other.clientTopicsRefused
        fanoutWaits += other.fanoutWaits
        fanoutBacklogPeak = max(fanoutBacklogPeak, other.fanoutBacklogPeak)
    }

    public var fields: [(String, UInt64)] {
        [
            ("backend_links_accepted", linksAccepted), ("backend_links_open", linksOpen),
            ("backend_protocol_errors", linkProtocolErrors), ("backend_timeouts", linkTimeouts),
            ("backend_events_lost", eventsLost),
            ("backend_stale_commands", staleCommands), ("backend_upgrades_refused", upgradesRefused),
            ("backend_upgrades_rejected", upgradesRejected), ("backend_moved", connectionsMoved),
            ("backend_closed_on_loss", connectionsClosedOnLoss), ("backend_paused", pausedForWorker),
            ("publishes", publishes), ("deliveries", deliveries),
            ("history_gaps", historyGaps), ("history_not_kept", historyNotKept), ("topics_refused", topicsRefused),
            ("topics_reclaimed", topicsReclaimed),
            ("client_subscribes", clientSubscribes), ("client_unsubscribes", clientUnsubscribes),
            ("client_topics_refused", clientTopicsRefused),
            ("fanout_waits", fanoutWaits), ("fanout_backlog_peak", fanoutBacklogPeak),
        ]
    }
}
