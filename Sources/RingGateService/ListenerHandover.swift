public import RingGateway
import RingEngine
#if canImport(Glibc)
import Glibc
#endif

// Zero-downtime restart. The running gateway listens on its control socket; a new one started
// with `--takeover PATH` connects and asks for the listeners:
//
//     new -> old   "takeover\n"
//     old -> new   "ringgate-handover listeners=N tls=T admin=A\n"
//                  + N plain listener fds, T wss:// listener fds (+ the admin listener)
//     new          adopts them, arms its accepts, starts serving
//     new -> old   "ready\n"
//     old          stops accepting and waits until its accepts have ended, removes its control
//                  socket, starts draining with 1012
//     old -> new   "draining\n"
//     new          re-arms its accepts; binds the control socket itself, for the next restart
//
// Both processes accept from the very same sockets until the old one stops, so no connection
// attempt is refused. A listening socket wakes only one waiting accept per connection; one
// whose wakeup reached the old process's accept as it was being cancelled stays queued, so
// the new process re-arms (which accepts what is queued) once the old one's accepts are gone. If the new process fails before "ready", the old one just keeps serving.
// TLS listeners travel like plain ones: a TLS session lives in the process that accepted its
// connection, so each connection stays whole on one side; the new process loads the
// certificates its own settings name. A new process that does not serve wss:// refuses TLS
// listeners (so a restart never silently drops them); one that adds wss:// binds them itself.
// N or T may be 0 (no-plain; no TLS). A gateway that predates TLS sends no `tls=` field.

/// The new process's side: listeners received from the running gateway.
public final class ListenerHandover {
    public let listenerFDs: [Int32]
    /// The wss:// listeners, when the running gateway had them.
    public let tlsListenerFDs: [Int32]
    /// The admin listener, when the running gateway had one.
    public let adminFD: Int32?
    private let socket: Int32

    static let timeoutSeconds = 30

    /// Connects to the control socket at `path` and receives the listeners.
    public init(path: String) throws(GatewayError) {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw GatewayError(description: "takeover: socket failed: \(SocketIO.lastError)") }
        guard SocketIO.withUnixAddress(path, { connect(fd, $0, $1) }) == 0 else {
            let reason = SocketIO.lastError
            close(fd)
            throw GatewayError(description: "takeover: cannot connect to the control socket \(path): \(reason) "
                               + "(is a gateway running with --control-socket \(path)?)")
        }
        SocketIO.setBlocking(fd, timeoutSeconds: Self.timeoutSeconds)
        socket = fd
        guard SocketIO.writeAll(fd, Array("takeover\n".utf8)) else {
            close(fd)
            throw GatewayError(description: "takeover: the running gateway closed the control connection")
        }
        let (got, header, fds) = DescriptorPassing.receive(fd, capacity: 256, maxDescriptors: 4096)
        let count = fds.count
        let text = String(decoding: header, as: UTF8.self)
        let fields = Self.fields(text)
        let tls = fields["tls"] ?? 0
        guard text.hasPrefix("ringgate-handover "), let listeners = fields["listeners"], let admin = fields["admin"],
              listeners >= 0, tls >= 0, admin == 0 || admin == 1, listeners + tls > 0, listeners + tls + admin == Int(count)
        else {
            for index in 0..<Int(count) { close(fds[index]) }
            close(fd)
            throw GatewayError(description: "takeover: unexpected answer from the control socket \(path) "
                               + "(\(got < 0 ? String(cString: strerror(Int32(-got))) : "'\(text)'"))")
        }
        listenerFDs = Array(fds[..<listeners])
        tlsListenerFDs = Array(fds[listeners..<(listeners + tls)])
        adminFD = admin == 1 ? fds[listeners + tls] : nil
    }

    /// Tells the old process that this one serves; it then stops accepting and drains. Closes
    /// the received listener copies (the engine holds its own duplicates).
    public func confirm() throws(GatewayError) {
        defer {
            for fd in listenerFDs + tlsListenerFDs { close(fd) }
            close(socket)
        }
        guard SocketIO.writeAll(socket, Array("ready\n".utf8)) else {
            throw GatewayError(description: "takeover: the old gateway went away before the switch")
        }
        var answer = [UInt8](repeating: 0, count: 64)
        let got = answer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        guard got > 0, String(decoding: answer[..<got], as: UTF8.self).hasPrefix("draining") else {
            throw GatewayError(description: "takeover: the old gateway did not confirm its drain")
        }
    }

    static func fields(_ line: String) -> [String: Int] {
        var result: [String: Int] = [:]
        for word in line.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let pair = word.split(separator: "=", maxSplits: 1)
            if pair.count == 2, let value = Int(pair[1]) { result[String(pair[0])] = value }
        }
        return result
    }
}

/// The running process's side: hands its listeners to a successor, once.
public final class ControlServer: @unchecked Sendable {
    // @unchecked: `thread` is touched only by start() and stop(), which the owner serialises.
    /// What a takeover receives: the plain and wss:// listeners, and the admin listener.
    public typealias Offer = (listeners: [Int32], tls: [Int32], admin: Int32?)

    public let path: String
    private let listener: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private var thread: pthread_t?

    /// Binds the control socket at `path`, replacing a stale one but never a live gateway's.
    public init(path: String) throws(GatewayError) {
        self.path = path
        let probe = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let live = SocketIO.withUnixAddress(path) { connect(probe, $0, $1) } == 0
        close(probe)
        guard !live else {
            throw GatewayError(description: "control-socket \(path) belongs to a running gateway; "
                               + "start with --takeover \(path) to replace it")
        }
        unlink(path)
        // Whoever connects gets the listeners, so the file is the owner's alone before anyone
        // can connect: bind creates it with the socket's mode (minus the umask), and the chmod
        // comes before listen, never after.
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0, fchmod(fd, 0o600) == 0, SocketIO.withUnixAddress(path, { bind(fd, $0, $1) }) == 0,
              chmod(path, 0o600) == 0, listen(fd, 4) == 0
        else {
            let reason = SocketIO.lastError
            if fd >= 0 { close(fd) }
            throw GatewayError(description: "cannot create control-socket \(path): \(reason)")
        }
        listener = fd
        var pipeFDs: [Int32] = [-1, -1]
        _ = pipe(&pipeFDs)
        for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        wakeRead = pipeFDs[0]
        wakeWrite = pipeFDs[1]
    }

    /// Serves takeover requests. `offer` returns the listeners, plain and wss://, and the admin
    /// listener to send; `handedOver` runs once the successor serves, before it is told to go on.
    public func start(offer: @escaping @Sendable () -> Offer,
                      handedOver: @escaping @Sendable () -> Void) {
        thread = PlainThread.start { [self] in serve(offer: offer, handedOver: handedOver) }
    }

    public func stop() {
        guard let thread else { return }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        pthread_join(thread, nil)
        self.thread = nil
        close(wakeRead)
        close(wakeWrite)
    }

    private func serve(offer: () -> Offer, handedOver: () -> Void) {
        defer { close(listener) }
        while true {
            var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 2, -1) < 0 && errno != EINTR { return }
            if fds[0].revents != 0 {
                unlink(path)
                return
            }
            guard fds[1].revents != 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            SocketIO.setBlocking(client, timeoutSeconds: ListenerHandover.timeoutSeconds)
            let done = handOver(client, offer: offer, handedOver: handedOver)
            close(client)
            if done { return }
        }
    }

    /// One takeover conversation; true once the successor serves and this process drains.
    private func handOver(_ client: Int32, offer: () -> Offer,
                          handedOver: () -> Void) -> Bool {
        guard readLine(client) == "takeover" else { return false }
        let (listeners, tls, admin) = offer()
        let fds = listeners + tls + (admin.map { [$0] } ?? [])
        let header = Array("ringgate-handover listeners=\(listeners.count) tls=\(tls.count) admin=\(admin == nil ? 0 : 1)\n".utf8)
        guard DescriptorPassing.send(client, fds, message: header) > 0 else { return false }
        guard readLine(client) == "ready" else { return false }
        unlink(path)
        handedOver()
        _ = SocketIO.writeAll(client, Array("draining\n".utf8))
        return true
    }

    private func readLine(_ fd: Int32) -> String? {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while bytes.count < 64 {
            let got = recv(fd, &byte, 1, 0)
            if got < 0 && errno == EINTR { continue }
            if got <= 0 { return nil }
            if byte == 10 { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
        return nil
    }
}
