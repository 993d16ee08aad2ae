import Logging
import RingGateProtocol
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

extension BackendHub {
    /// Reads what the worker sent and dispatches every whole frame.
    func readCommands(_ hub: HubLink) {
        var chunk = 0
        while !hub.failed && chunk < 16 {  // bounded per turn, so one busy worker cannot starve others
            chunk += 1
            let count = read(hub.link.fd, scratch.baseAddress, scratch.count)
            if count > 0 { hub.input.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<count])) }
            if count == 0 {
                fail(hub, reason: "the worker closed its link", level: .notice)
                return
            }
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { return }
                fail(hub, reason: "read failed: \(String(cString: strerror(errno)))")
                return
            }
            parseFrames(hub)
            if count < scratch.count { return }
        }
    }

    private func parseFrames(_ hub: HubLink) {
        var consumed = 0
        var commands: UInt64 = 0
        let outcome: (code: LinkErrorCode, detail: String)? = hub.input.withUnsafeBytes { raw in
            while consumed < raw.count {
                switch LinkFrameScan.next(in: UnsafeRawBufferPointer(rebasing: raw[consumed...]), maxFrame: UInt32(hub.maxFrame)) {
                case .needMore:
                    return nil
                case .invalidLength(let length):
                    return (.frameTooLarge, "frame length \(length) outside 1...\(hub.maxFrame)")
                case .frame(let type, let body, let size):
                    consumed += size
                    commands += 1
                    if let error = dispatch(hub, type: type, body: body) { return error }
                }
            }
            return nil
        }
        hub.input.removeFirst(consumed)
        // A frame left unfinished starts (or keeps) its clock; one finished stops it.
        if hub.input.isEmpty {
            hub.partialSinceMs = nil
        } else if consumed > 0 || hub.partialSinceMs == nil {
            hub.partialSinceMs = Self.monotonicMs()
        }
        hub.link.commandsRead.add(commands, ordering: .relaxed)
        if let outcome { protocolError(hub, outcome.code, outcome.detail) }
    }

    /// Closes links that never said HELLO, or stalled inside a frame, for longer than allowed:
    /// a worker that hangs mid-frame would otherwise hold its link, and its clients, forever.
    func checkStalls(now: UInt64) {
        for hub in links where !hub.failed {
            if !hub.helloSeen, now &- hub.acceptedMs > UInt64(configuration.helloTimeoutMs) {
                counters.linkTimeouts += 1
                protocolError(hub, .timedOut, "no HELLO within \(configuration.helloTimeoutMs) ms")
            } else if let since = hub.partialSinceMs, now &- since > UInt64(configuration.frameTimeoutMs) {
                counters.linkTimeouts += 1
                protocolError(hub, .timedOut, "a frame stalled after \(hub.input.count) bytes for \(configuration.frameTimeoutMs) ms")
            }
        }
    }

    /// Sends ERROR (best effort) and closes the link.
    func protocolError(_ hub: HubLink, _ code: LinkErrorCode, _ detail: String) {
        counters.linkProtocolErrors += 1
        var writer = LinkWriter()
        writer.error(code: code, detail: detail)
        // Behind whatever events are still unwritten, so the worker sees them first.
        flush(hub)
        if !hub.wantsWrite { _ = writer.bytes.withUnsafeBytes { write(hub.link.fd, $0.baseAddress, $0.count) } }
        fail(hub, reason: "protocol error \(code.rawValue): \(detail)")
    }

    /// Writes queued events until the socket is full.
    func flush(_ hub: HubLink) {
        while !hub.failed {
            if hub.outputOffset == hub.output.count {
                hub.link.eventsWritten.add(UInt64(hub.output.frames), ordering: .relaxed)
                hub.output.reset()
                hub.outputOffset = 0
                guard takeOutbox(hub) else { break }
            }
            let written = hub.output.bytes.withUnsafeBytes { raw in
                write(hub.link.fd, raw.baseAddress! + hub.outputOffset, raw.count - hub.outputOffset)
            }
            if written < 0 {
                if errno == EAGAIN || errno == EINTR { break }
                fail(hub, reason: "write failed: \(String(cString: strerror(errno)))")
                return
            }
            hub.outputOffset += written
            hub.link.queuedBytes.subtract(written, ordering: .relaxed)
        }
        hub.wantsWrite = hub.outputOffset < hub.output.count
        let queued = hub.link.queuedBytes.load(ordering: .relaxed)
        if queued > configuration.linkQueueLimitBytes {
            hub.link.congested.store(true, ordering: .relaxed)
        } else if queued < configuration.linkQueueLimitBytes / 2 {
            hub.link.congested.store(false, ordering: .relaxed)
        }
    }

    /// Swaps the next outbox with events, round robin from where the last take left off, into
    /// the (empty) output; false when every outbox is empty. A swap, not a copy: each thread's
    /// batch goes out in a write of its own.
    private func takeOutbox(_ hub: HubLink) -> Bool {
        let outboxes = hub.link.outboxes
        for step in 0..<outboxes.count {
            let index = (hub.nextOutbox + step) % outboxes.count
            outboxes[index].events.withLock { swap(&$0, &hub.output) }
            if !hub.output.isEmpty {
                hub.nextOutbox = index + 1
                return true
            }
        }
        return false
    }

    /// Closes the link, counts what it still held for the worker, and tells every
    /// gateway thread, which moves or closes the link's connections. `level` is the log
    /// line's: a failure warns, a worker that left is a notice, a gateway stopping is info.
    func fail(_ hub: HubLink, reason: String, level: Logger.Level = .warning, lostIsExpected: Bool = false) {
        guard !hub.failed else { return }
        hub.failed = true
        let unwritten = hub.link.fail()
        directory.remove(hub.link)
        close(hub.link.fd)
        var lost = Self.countMessages(hub.output.bytes, unwrittenFrom: hub.outputOffset)
        lost += Self.countMessages(unwritten, unwrittenFrom: 0)
        counters.eventsLost += UInt64(lost)
        let name = hub.link.name.withLock { $0 }
        let open = hub.link.connections.load(ordering: .relaxed)
        GatewayLog.logger.log(level: level, """
            backend: link \(hub.link.id) (\(name.isEmpty ? "no hello" : name)) closed: \(reason); \
            \(open) connections, \(lost) undelivered events
            """)
        guard !lostIsExpected else { return }
        for index in batches.indices {
            batches[index].begin(InboxRecord.linkDown.rawValue)
            batches[index].u16(hub.link.id)
            batches[index].end()
        }
    }

    /// MESSAGE events in `bytes`, whole frames from its start, that were not entirely written
    /// before offset `written`: a frame cut by a short write counts, since the worker cannot
    /// read it. Frames are walked from the start because `written` may fall inside one.
    static func countMessages(_ bytes: [UInt8], unwrittenFrom written: Int) -> Int {
        var position = 0
        var count = 0
        while position + 5 <= bytes.count {
            let length = Int(bytes[position]) | Int(bytes[position + 1]) << 8 | Int(bytes[position + 2]) << 16 | Int(bytes[position + 3]) << 24
            let end = position + 4 + max(1, length)
            if end > written, bytes[position + 4] == LinkEvent.message.rawValue { count += 1 }
            position = end
        }
        return count
    }
}
