#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP client over loopback, for driving the engine from tests.
struct LoopbackClient {
    let fd: Int32

    /// Connects to 127.0.0.1:`port`; `nil` if the connection is refused. A `receiveBufferBytes`
    /// is set before connecting, so the window the client offers stays that small.
    init?(port: UInt16, receiveTimeoutMs: Int = 5000, receiveBufferBytes: Int32? = nil) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        if var bytes = receiveBufferBytes {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, socklen_t(MemoryLayout<Int32>.size))
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard ok else { Glibc.close(fd); return nil }
        var tv = timeval(tv_sec: receiveTimeoutMs / 1000, tv_usec: (receiveTimeoutMs % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        self.fd = fd
    }

    func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    /// Reads exactly `count` bytes, or fewer if the peer closes or the timeout passes.
    func receive(exactly count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
            if n <= 0 { break }
            got += n
        }
        return Array(out.prefix(got))
    }

    /// Waits for the peer to close: true on EOF or reset, false on data or timeout.
    func waitForClose() -> Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, 0)
        return n == 0 || (n < 0 && errno == ECONNRESET)
    }

    func close() { Glibc.close(fd) }

    /// Closes with an RST instead of a FIN (SO_LINGER with a zero timeout).
    func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        Glibc.close(fd)
    }
}

/// Polls `condition` every 10 ms for up to `timeoutMs`.
func eventually(timeoutMs: Int = 5000, _ condition: () -> Bool) -> Bool {
    var waited = 0
    while waited < timeoutMs {
        if condition() { return true }
        usleep(10_000)
        waited += 10
    }
    return condition()
}
