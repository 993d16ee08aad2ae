/// How full one connection's send queue may get, and what a full one means: the numbers of
/// `--send-queue-limit` and `--slow-client`, with no socket or worker in sight, so every edge
/// is tested on plain values (SendQueuePolicyTests).
struct SendQueuePolicy: Equatable {
    /// Bytes a connection may have waiting behind earlier data.
    let limit: Int
    let slowClients: SlowClientPolicy

    /// Past this a paused-policy client stops being read, and its worker hears FLOW 1.
    var pauseAbove: Int { limit / 2 }
    /// Under this it is read again, and its worker hears FLOW 0.
    var resumeBelow: Int { limit / 4 }

    init(limit: Int, slowClients: SlowClientPolicy) {
        self.limit = limit
        self.slowClients = slowClients
    }

    /// Whether a message of `total` bytes (header included) may join `queued` bytes as they
    /// are. An empty queue takes any one message, so a message larger than the limit still
    /// goes out to a client that keeps up; otherwise the limit bounds what waits behind it.
    /// The core applies the same rule as it queues (`rg_conn_send_message`); this one decides
    /// whether dropping made room.
    func fits(_ total: Int, behind queued: Int) -> Bool {
        queued == 0 || queued + total <= limit
    }

    /// Under `drop`, how many queued bytes should go so that `total` more fit: what exceeds
    /// the limit (at least the new message's size). Nil under other policies: they never drop.
    func bytesToDrop(for total: Int, behind queued: Int) -> Int? {
        guard slowClients == .drop else { return nil }
        return queued + total > limit ? queued + total - limit : total
    }

    /// Under `pause`, whether a client with `queued` bytes waiting, the newest message
    /// included, should stop being read.
    func pausesReading(queued: Int) -> Bool {
        slowClients == .pause && queued > pauseAbove
    }

    /// Whether a client with `queued` bytes waiting may be read again (or its worker told so).
    func resumes(with queued: Int) -> Bool { queued < resumeBelow }

    /// Whether `queued` bytes are enough to tell the connection's worker it is slow (FLOW 1).
    func isSlow(with queued: Int) -> Bool { queued > pauseAbove }
}
