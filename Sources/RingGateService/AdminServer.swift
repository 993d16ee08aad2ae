public import RingGateway
#if canImport(Glibc)
import Glibc
#endif

/// The admin HTTP server: `/metrics`, `/healthz`, `/readyz`. One plain thread with poll(2), far
/// from the workers' rings, so a scrape never delays a message. It stays small on purpose: one
/// request per connection, heads of at most 8 KiB, 5 s to send one, at most 64 clients at once.
public final class AdminServer: @unchecked Sendable {
    // @unchecked: `thread` is written by start() and read by stop(), which the owner serialises;
    // everything else is immutable or confined to the server thread.
    public typealias Response = (status: Int, contentType: String, body: String)

    /// The listening socket, to hand to a process that takes over.
    public let listenerFD: Int32
    public let port: UInt16
    private let respond: @Sendable (_ path: String) -> Response
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private var thread: pthread_t?

    static let maxRequestBytes = 8192
    static let maxClients = 64
    static let requestTimeoutSeconds = 5

    /// Binds `host:port`, or adopts `inheritedFD` (a listener handed over by the previous process).
    public init(host: String, port: UInt16, inheritedFD: Int32? = nil,
                respond: @escaping @Sendable (_ path: String) -> Response) throws(GatewayError) {
        self.respond = respond
        if let inheritedFD {
            listenerFD = inheritedFD
        } else {
            listenerFD = try Self.listen(host: host, port: port)
        }
        _ = fcntl(listenerFD, F_SETFL, fcntl(listenerFD, F_GETFL) | O_NONBLOCK)
        self.port = Self.boundPort(listenerFD)
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else {
            close(listenerFD)
            throw GatewayError(description: "admin server: cannot create a pipe: \(SocketIO.lastError)")
        }
        for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        wakeRead = pipeFDs[0]
        wakeWrite = pipeFDs[1]
    }

    public func start() {
        thread = PlainThread.start { [self] in serve() }
    }

    /// Stops serving and closes the listener (the process that took over keeps its own copy).
    public func stop() {
        guard let thread else { return }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        pthread_join(thread, nil)
        self.thread = nil
        close(listenerFD)
        close(wakeRead)
        close(wakeWrite)
    }

    private struct Client {
        let fd: Int32
        var request: [UInt8] = []
        let deadline: Int
    }

    private func serve() {
        var clients: [Client] = []
        while true {
            var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: listenerFD, events: Int16(POLLIN), revents: 0)]
            fds += clients.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), 500)
            if ready < 0 && errno != EINTR { return }
            if fds[0].revents != 0 { break }
            // Clients first, by their index in `fds`; new ones join after and are polled next time.
            var index = clients.count - 1
            while index >= 0 {
                if fds[index + 2].revents != 0, readRequest(&clients[index]) {
                    close(clients[index].fd)
                    clients.remove(at: index)
                } else if Self.seconds() > clients[index].deadline {
                    close(clients[index].fd)
                    clients.remove(at: index)
                }
                index -= 1
            }
            if fds[1].revents != 0 { acceptClients(&clients) }
        }
        for client in clients { close(client.fd) }
    }

    private func acceptClients(_ clients: inout [Client]) {
        while true {
            let fd = accept(listenerFD, nil, nil)
            if fd < 0 { return }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
            guard clients.count < Self.maxClients else {
                close(fd)
                continue
            }
            clients.append(Client(fd: fd, deadline: Self.seconds() + Self.requestTimeoutSeconds))
        }
    }

    /// Reads what arrived; answers once the head is complete. Returns true when done with the client.
    private func readRequest(_ client: inout Client) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 2048)
        let count = chunk.withUnsafeMutableBytes { recv(client.fd, $0.baseAddress, $0.count, 0) }
        if count < 0 { return errno != EAGAIN && errno != EINTR }
        if count == 0 { return true }
        client.request += chunk[..<count]
        if let end = Self.headEnd(client.request) {
            answer(client.fd, head: client.request[..<end])
            return true
        }
        if client.request.count > Self.maxRequestBytes {
            reply(client.fd, (431, "text/plain", "request head too large\n"), head: false)
            return true
        }
        return false
    }

    private func answer(_ fd: Int32, head: ArraySlice<UInt8>) {
        let requestLine = head.split(separator: UInt8(ascii: "\r"), maxSplits: 1).first ?? []
        let parts = requestLine.split(separator: UInt8(ascii: " "))
        guard parts.count == 3 else { return reply(fd, (400, "text/plain", "bad request\n"), head: false) }
        let method = String(decoding: parts[0], as: UTF8.self)
        let target = String(decoding: parts[1], as: UTF8.self)
        guard method == "GET" || method == "HEAD" else {
            return reply(fd, (405, "text/plain", "only GET and HEAD\n"), head: false)
        }
        let path = String(target.prefix { $0 != "?" })
        reply(fd, respond(path), head: method == "HEAD")
    }

    private func reply(_ fd: Int32, _ response: Response, head: Bool) {
        let reason = [200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
                      431: "Request Header Fields Too Large", 503: "Service Unavailable"][response.status] ?? "Status"
        let body = Array(response.body.utf8)
        var text = "HTTP/1.1 \(response.status) \(reason)\r\nContent-Type: \(response.contentType)\r\n"
        text += "Content-Length: \(body.count)\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n"
        SocketIO.setBlocking(fd, timeoutSeconds: 2)
        _ = SocketIO.writeAll(fd, Array(text.utf8) + (head ? [] : body))
    }

    private static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count where bytes[index] == 10 && bytes[index - 1] == 13 && bytes[index - 2] == 10 {
            return index + 1
        }
        return nil
    }

    private static func seconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return ts.tv_sec
    }

    private static func listen(host: String, port: UInt16) throws(GatewayError) -> Int32 {
        var storage = sockaddr_storage()
        var length: socklen_t = 0
        withUnsafeMutableBytes(of: &storage) { raw in
            var v4 = sockaddr_in()
            var v6 = sockaddr_in6()
            if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
                v4.sin_family = sa_family_t(AF_INET)
                v4.sin_port = port.bigEndian
                withUnsafeBytes(of: v4) { raw.copyMemory(from: $0) }
                length = socklen_t(MemoryLayout<sockaddr_in>.size)
            } else if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
                v6.sin6_family = sa_family_t(AF_INET6)
                v6.sin6_port = port.bigEndian
                withUnsafeBytes(of: v6) { raw.copyMemory(from: $0) }
                length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            }
        }
        guard length > 0 else { throw GatewayError(description: "admin-host '\(host)' is not an IPv4 or IPv6 address") }
        let fd = socket(Int32(storage.ss_family), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw GatewayError(description: "admin server: socket failed: \(SocketIO.lastError)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, Glibc.listen(fd, 64) == 0 else {
            let reason = SocketIO.lastError
            close(fd)
            throw GatewayError(description: "cannot listen on admin-host \(host) admin-port \(port): \(reason)")
        }
        return fd
    }

    private static func boundPort(_ fd: Int32) -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return withUnsafeBytes(of: storage) { raw in
            // sin_port and sin6_port both sit right after the 2-byte family, in network order.
            UInt16(raw[2]) << 8 | UInt16(raw[3])
        }
    }
}
