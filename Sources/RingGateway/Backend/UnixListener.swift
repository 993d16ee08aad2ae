#if canImport(Glibc)
import Glibc
#endif

/// Binds the Unix socket workers connect to. A socket file left by a gateway
/// that died is replaced; one that a live gateway still answers on is not.
enum UnixListener {
    static func bind(path: String, mode: UInt32, group: String?) throws(GatewayError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity, !path.isEmpty else {
            throw GatewayError(description: "backend-socket: path must be 1...\(capacity - 1) bytes (got \(path.utf8.count))")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else {
                throw GatewayError(description: "backend-socket: \(path) exists and is not a socket")
            }
            if answers(&address) {
                throw GatewayError(description: "backend-socket: another gateway is listening on \(path)")
            }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw GatewayError(description: "backend-socket: socket failed (errno \(errno))") }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            let code = errno
            close(fd)
            throw GatewayError(description: "backend-socket: cannot listen on \(path): \(String(cString: strerror(code)))")
        }
        if let group {
            guard let entry = getgrnam(group) else {
                close(fd)
                unlink(path)
                throw GatewayError(description: "backend-socket-group: no group named \(group)")
            }
            chown(path, uid_t.max, entry.pointee.gr_gid)
        }
        chmod(path, mode_t(mode))
        return fd
    }

    /// True when something accepts connections on the socket at `address`.
    private static func answers(_ address: inout sockaddr_un) -> Bool {
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { return false }
        defer { close(probe) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return result == 0
    }
}
