#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A connected Unix-domain stream socket: the only place this SDK makes syscalls. Calls block;
/// they run on the link's own threads, never on the concurrency pool.
struct UnixSocket: Sendable {
    let fd: Int32

    static func connect(path: String) throws(BackendLinkError) -> UnixSocket {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { throw .socketPathTooLong }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .connectFailed(errno: errno) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let error = errno
            Glibc.close(fd)
            throw .connectFailed(errno: error)
        }
        return UnixSocket(fd: fd)
    }

    /// Bytes read (0 at end of stream), or -errno. Retries EINTR.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { return -Int(errno) }
        }
    }

    /// Writes every byte; returns 0 or the errno that stopped it. MSG_NOSIGNAL: a closed peer
    /// is an EPIPE to report, not a SIGPIPE that kills the worker.
    func writeAll(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        var offset = 0
        while offset < bytes.count {
            let count = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if count > 0 {
                offset += count
            } else if count < 0, errno == EINTR {
                continue
            } else {
                return count < 0 ? errno : EPIPE
            }
        }
        return 0
    }

    /// Wakes a blocked read or write; the descriptor stays valid until `close`.
    func shutdown(writeOnly: Bool = false) {
        _ = Glibc.shutdown(fd, Int32(writeOnly ? SHUT_WR : SHUT_RDWR))
    }

    func close() { _ = Glibc.close(fd) }
}
