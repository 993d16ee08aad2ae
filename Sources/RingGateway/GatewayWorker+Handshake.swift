import RingEngine
import RingTimers
import RingWebSocket

extension GatewayWorker {
    /// Feeds bytes of the HTTP upgrade request; answers it once complete.
    func handshake(_ slot: UInt32, _ buffer: UnsafeMutableRawBufferPointer) {
        if !pendingUpgrades.isEmpty, pendingUpgrades[slot] != nil {
            keepEarlyBytes(slot, UnsafeRawBufferPointer(buffer))
            return
        }
        var parser = handshakes.removeValue(forKey: slot) ?? HandshakeParser(policy: limits.handshake)
        switch parser.feed(UnsafeRawBufferPointer(buffer)) {
        case .needMore:
            handshakes[slot] = parser
        case .upgrade(let request, let consumed) where backend != nil:
            routeUpgrade(slot, request, early: UnsafeRawBufferPointer(rebasing: buffer[consumed...]))
        case .upgrade(let request, let consumed):
            upgrade(slot, request)
            if consumed < buffer.count, states[slot].phase == .open {
                // Frames the client sent right behind its request.
                frames(slot, UnsafeMutableRawBufferPointer(rebasing: buffer[consumed...]))
            }
        case .plainRequest(let request, _):
            counters.plainRequests += 1
            answerPlain(slot, path: request.path, headOnly: request.method == "HEAD")
        case .reject(let rejection):
            counters.handshakesRejected += 1
            sendRaw(slot, HandshakeResponse.rejection(rejection))
            finishWithoutFrames(slot)
        }
    }

    func upgrade(_ slot: UInt32, _ request: UpgradeRequest) {
        guard switchProtocols(slot, request) else { return }
        counters.handshakesAccepted += 1
        // Most connections are quiet once upgraded, so they start parked: the core read the
        // request with a one-shot recv, so nothing has to be cancelled, and the first message
        // that comes soon after (see `received`) turns the connection back to a multishot recv.
        let heartbeats = limits.heartbeats
        if heartbeats.parksOnUpgrade {
            states.pointer(slot).pointee.flags.insert(.parked)
            worker.park(id(slot))
            counters.parked += 1
        }
        let firstCheck = heartbeats.firstCheck(now: now, seed: slot &+ states[slot].generation)
        wheel.schedule(slot, at: cappedByDrain(slot, firstCheck))
    }

    /// Sends the 101 and makes the connection a WebSocket one: open, its frames parsed.
    private func switchProtocols(_ slot: UInt32, _ request: UpgradeRequest) -> Bool {
        guard sendRaw(slot, HandshakeResponse.switchingProtocols(for: request)) else { return false }
        states.pointer(slot).pointee.phase = .open
        states.pointer(slot).pointee.flags.insert(.upgraded)
        receivers.pointer(slot).initialize(to: FrameReceiver())
        return true
    }

    /// Frames a client sends before its worker decided are kept (bounded) and replayed on ACCEPT.
    private func keepEarlyBytes(_ slot: UInt32, _ bytes: UnsafeRawBufferPointer) {
        guard (pendingUpgrades[slot]?.early.count ?? 0) + bytes.count <= Self.earlyBytesLimit else {
            pendingUpgrades[slot] = nil
            counters.protocolErrors += 1
            reportClosed(slot, code: CloseCode.abnormalClosure.rawValue)
            worker.close(id(slot), .abort)
            return
        }
        pendingUpgrades[slot]?.early.append(contentsOf: bytes)
    }

    static let earlyBytesLimit = 64 << 10

    /// Answers a GET that is not an upgrade: /healthz for load balancers, the demo's page at /
    /// when no application worker is configured (DemoPage.swift), 426 otherwise.
    private func answerPlain(_ slot: UInt32, path: String, headOnly: Bool) {
        let response: [UInt8]
        let route = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        if backend == nil, route == "/" || route == "/index.html" {
            response = DemoPage.response
        } else if path == "/healthz" {
            response = HandshakeResponse.plain(status: 200, reason: "OK", contentType: "text/plain", body: Array("ok\n".utf8))
        } else {
            response = HandshakeResponse.plain(
                status: 426, reason: "Upgrade Required", contentType: "text/plain",
                body: Array("RingGate: this endpoint speaks WebSocket\n".utf8),
                extraHeaders: [HeaderField(name: "Upgrade", value: "websocket"), HeaderField(name: "Sec-WebSocket-Version", value: "13")]
            )
        }
        // HEAD: the same status and headers (Content-Length included), no body (RFC 7231 4.3.2).
        sendRaw(slot, headOnly ? HandshakeResponse.headOnly(response) : response)
        finishWithoutFrames(slot)
    }

    /// Refuses an upgrade that the application (or the gateway, for it) decided against. A
    /// browser cannot read an HTTP answer to a WebSocket upgrade: its JavaScript sees close code
    /// 1006 and no reason. So a browser's upgrade (it carries Origin, which browsers always send
    /// and other clients rarely do) is accepted and closed at once with code 4000 + status and
    /// the body as the reason (RFC 6455 section 7.4.2 leaves 4000-4999 to applications); any
    /// other client gets the HTTP answer.
    func refuseUpgrade(_ slot: UInt32, _ request: UpgradeRequest, status: Int, body: String) {
        guard request.origin != nil, (100...999).contains(status) else {
            answerHTTP(slot, status: status, body: body)
            return
        }
        guard switchProtocols(slot, request) else { return }
        var reason = Array(body.utf8.prefix(FrameEncoder.maxControlPayload - 2))
        while !reason.isEmpty, String(validating: reason, as: UTF8.self) == nil { reason.removeLast() }  // a whole last character
        let code = UInt16(4000 + status)
        closeWithFrame(slot) { buffer in
            reason.withUnsafeBytes { FrameEncoder.writeClose(into: buffer, code: code, reason: $0) }
        }
    }

    /// Answers an upgrade with an HTTP error of the application's (or the gateway's) choosing.
    func answerHTTP(_ slot: UInt32, status: Int, body: String) {
        sendRaw(slot, HandshakeResponse.plain(
            status: status, reason: HTTPReason.phrase(status), contentType: "text/plain; charset=utf-8",
            body: Array((body + "\n").utf8)
        ))
        finishWithoutFrames(slot)
    }

    /// Closes after the HTTP answer is flushed. Writes are shut down at once, but the socket
    /// keeps reading until the client's EOF (bounded by the close timeout): closing with
    /// unread request bytes would send a reset that can destroy the answer in flight.
    func finishWithoutFrames(_ slot: UInt32) {
        states.pointer(slot).pointee.phase = .closing
        closeAfterOwed(slot, .linger)
        wheel.schedule(slot, at: now &+ limits.closeTicks)
    }

    /// Queues bytes as they are (after any the connection is owed, when the send pool was dry);
    /// false, and the connection aborted, when it is over its queue limit.
    @discardableResult
    func sendRaw(_ slot: UInt32, _ bytes: [UInt8]) -> Bool {
        if poolWait.holds(slot) { return owe(slot, .copy(bytes)) }
        switch bytes.withUnsafeBytes({ worker.send(id(slot), $0) }) {
        case nil:
            return true
        case .poolDry?:
            return owe(slot, .copy(bytes))
        case .full?, .stale?, .closing?:
            counters.sendQueueOverflows += 1
            worker.close(id(slot), .abort)
            return false
        }
    }
}
