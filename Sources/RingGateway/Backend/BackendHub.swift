import RingTopics
import Logging
import RingGateProtocol
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The gateway's end of the worker links: one thread that listens on the Unix
/// socket, reads commands from every link, hands them to the gateway thread
/// that owns the connection, and writes the events gateway threads queued.
///
/// It is a plain poll loop: links are few (workers, not clients), and the
/// per-client work stays on the io_uring threads.
final class BackendHub: @unchecked Sendable {
    // @unchecked: everything not Sendable below is touched only by the hub thread
    // (after start) or before start.
    let configuration: BackendConfiguration
    let directory: BackendDirectory
    let topics: TopicRegistry
    let tableSize: Int
    let gatewayID: String
    private(set) var inboxes: [WorkerInbox] = []
    let published = Mutex(BackendCounters())

    let listener: Int32
    /// A pipe: gateway threads write a byte to wake the hub's poll.
    let wakeFD: Int32
    let wakeWriteFD: Int32
    private let wakePending = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private var thread: pthread_t?

    // Hub-thread state.
    var links: [HubLink] = []
    var batches: [LinkWriter] = []
    var counters = BackendCounters()
    /// Where reads land before they join a link's input.
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 8)
    private var nextLinkID: UInt16 = 0

    init(configuration: BackendConfiguration, workers: Int, tableSize: Int, gatewayID: String) throws(GatewayError) {
        guard let path = configuration.socketPath else { throw GatewayError(description: "backend: no socket path") }
        self.configuration = configuration
        directory = BackendDirectory(maxLinks: configuration.maxLinks)
        topics = TopicRegistry(limit: configuration.maxTopics)
        self.tableSize = tableSize
        self.gatewayID = gatewayID
        listener = try UnixListener.bind(path: path, mode: configuration.socketMode, group: configuration.socketGroup)
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            close(listener)
            throw GatewayError(description: "backend: pipe failed (errno \(errno))")
        }
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        wakeFD = ends[0]
        wakeWriteFD = ends[1]
    }

    deinit {
        close(listener)
        close(wakeFD)
        close(wakeWriteFD)
        scratch.deallocate()
    }

    /// Starts the hub thread; `inboxes` are the gateway threads', in worker order.
    func start(inboxes: [WorkerInbox]) throws(GatewayError) {
        self.inboxes = inboxes
        batches = inboxes.map { _ in LinkWriter(capacity: 4096) }
        let box = Unmanaged.passRetained(self).toOpaque()
        var created = pthread_t()
        let code = pthread_create(&created, nil, { raw in
            let hub = Unmanaged<BackendHub>.fromOpaque(raw!).takeRetainedValue()
            hub.run()
            return nil
        }, box)
        guard code == 0 else {
            Unmanaged<BackendHub>.fromOpaque(box).release()
            throw GatewayError(description: "backend: cannot start its thread (\(code))")
        }
        thread = created
    }

    /// Stops the thread and closes every link.
    func stop() {
        stopping.store(true, ordering: .releasing)
        wake()
        if let thread { pthread_join(thread, nil) }
        thread = nil
        if let path = configuration.socketPath { unlink(path) }
    }

    /// Called by gateway threads after queuing events (once per batch).
    func wake() {
        guard !wakePending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        _ = write(wakeWriteFD, &byte, 1)
    }

    var counterSnapshot: BackendCounters { published.withLock { $0 } }

    private func run() {
        var fds: [pollfd] = []
        while !stopping.load(ordering: .acquiring) {
            let inboxesFull = inboxes.contains { $0.queuedBytes.load(ordering: .relaxed) > configuration.inboxLimitBytes }
            fds.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: listener, events: Int16(POLLIN), revents: 0))
            fds.append(pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0))
            for link in links {
                var events: Int32 = 0
                if !inboxesFull { events |= POLLIN }
                if link.wantsWrite { events |= POLLOUT }
                fds.append(pollfd(fd: link.link.fd, events: Int16(events), revents: 0))
            }
            // With full inboxes nothing wakes us when they drain: look again soon.
            let ready = poll(&fds, nfds_t(fds.count), inboxesFull ? 5 : 200)
            if ready < 0 && errno != EINTR { break }
            if fds[1].revents != 0 {
                wakePending.store(false, ordering: .releasing)
                var drain = (UInt64(0), UInt64(0))
                _ = read(wakeFD, &drain, 16)
            }
            if fds[0].revents & Int16(POLLIN) != 0 { acceptLinks() }
            for (index, link) in links.enumerated() where index + 2 < fds.count {
                let revents = fds[index + 2].revents
                if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { readCommands(link) }
            }
            for link in links where !link.failed { flush(link) }
            checkStalls(now: Self.monotonicMs())
            links.removeAll { $0.failed }
            for index in inboxes.indices { inboxes[index].deliver(&batches[index]) }
            counters.linksOpen = UInt64(links.count)
            published.withLock { $0 = counters }
        }
        for link in links { fail(link, reason: "the gateway is stopping", level: .info, lostIsExpected: true) }
        links.removeAll()
        published.withLock { $0 = counters }
    }

    private func acceptLinks() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 { return }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            guard links.count < configuration.maxLinks, let id = freeLinkID() else {
                GatewayLog.logger.warning("backend: refusing a worker: \(configuration.maxLinks) links are open")
                close(fd)
                continue
            }
            let link = HubLink(link: BackendLink(id: id, fd: fd, threads: inboxes.count), maxFrame: configuration.maxFrameBytes,
                               now: Self.monotonicMs())
            links.append(link)
            counters.linksAccepted += 1
            link.link.queue(from: link.link.hubOutbox) { writer in
                writer.hello(version: LinkProtocol.version, maxFrame: UInt32(configuration.maxFrameBytes), linkID: UInt32(id), gatewayID: gatewayID)
            }
        }
    }

    /// The next id after the last one handed out that no open link holds, so an id
    /// comes back only after every other one was used.
    private func freeLinkID() -> UInt16? {
        for _ in 0..<configuration.maxLinks {
            nextLinkID = nextLinkID % UInt16(configuration.maxLinks) + 1
            let candidate = nextLinkID
            if !links.contains(where: { $0.link.id == candidate }) { return candidate }
        }
        return nil
    }
}

/// The hub's own state for one link.
final class HubLink {
    let link: BackendLink
    let maxFrame: Int
    /// Bytes read and not yet parsed (a partial frame at most, between reads).
    var input: [UInt8] = []
    /// Events taken from the outbox and not fully written.
    var output = LinkWriter()
    var outputOffset = 0
    /// The outbox the next take starts from, so no thread's events wait behind another's.
    var nextOutbox = 0
    var helloSeen = false
    var wantsWrite = false
    var failed = false
    /// When the link was accepted, for the hello timeout.
    let acceptedMs: UInt64
    /// Since when `input` has held an unfinished frame; nil while it holds none.
    var partialSinceMs: UInt64?

    init(link: BackendLink, maxFrame: Int, now: UInt64) {
        self.link = link
        self.maxFrame = maxFrame
        acceptedMs = now
    }
}
