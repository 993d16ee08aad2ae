import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Binds the Unix socket workers connect to. A socket file left by a gateway
/// that died is replaced; one that a live process still answers on is not.
///
/// The file never has more permissions than asked: the socket's own mode is
/// set before bind (Linux creates the file with it, minus the umask), the
/// group and the exact mode are applied next, and only then does it listen,
/// so no worker can connect while the owner or mode is still the default.
enum UnixListener {
    static func bind(path: String, mode: UInt32, group: String?) throws(GatewayError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity, !path.isEmpty else {
            throw GatewayError(description: "backend-socket: path must be 1...\(capacity - 1) bytes (got \(path.utf8.count))", cause: .settings)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let groupID = try group.map { name throws(GatewayError) in try gid(of: name) }
        try removeStale(path, &address)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw GatewayError(description: "backend-socket: socket failed: \(String(cString: strerror(errno)))") }
        // bind creates the file with this mode minus the umask: never wider than asked.
        _ = fchmod(fd, mode_t(mode))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw GatewayError(description: "backend-socket: cannot bind \(path): \(String(cString: strerror(code)))")
        }
        do throws(GatewayError) {
            try setOwnerAndMode(path, groupID: groupID, group: group, mode: mode)
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
        guard listen(fd, 128) == 0 else {
            let code = errno
            close(fd)
            unlink(path)
            throw GatewayError(description: "backend-socket: cannot listen on \(path): \(String(cString: strerror(code)))")
        }
        return fd
    }

    private static func gid(of group: String) throws(GatewayError) -> gid_t {
        guard let entry = getgrnam(group) else {
            throw GatewayError(description: "backend-socket-group: no group named \(group)", cause: .settings)
        }
        return entry.pointee.gr_gid
    }

    /// Refuses a path that is not a socket or that a live process answers on; unlinks a stale one.
    private static func removeStale(_ path: String, _ address: inout sockaddr_un) throws(GatewayError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw GatewayError(description: "backend-socket: \(path) exists and is not a socket", cause: .settings)
        }
        if answers(&address) {
            throw GatewayError(description: "backend-socket: a running process (another gateway?) is listening on \(path)")
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw GatewayError(description: "backend-socket: cannot remove the stale socket \(path): \(String(cString: strerror(errno)))")
        }
        GatewayLog.logger.notice("backend: replaced the stale socket file \(path)")
    }

    /// The group first, then the exact mode: chmod gives back bits the umask took at bind.
    private static func setOwnerAndMode(_ path: String, groupID: gid_t?, group: String?, mode: UInt32) throws(GatewayError) {
        if let groupID, let group, chown(path, uid_t.max, groupID) != 0 {
            throw GatewayError(
                description: "backend-socket-group: cannot give \(path) to group \(group): \(String(cString: strerror(errno)))"
                    + " (the gateway's user must be root or a member of the group)",
                cause: .settings
            )
        }
        guard chmod(path, mode_t(mode)) == 0 else {
            throw GatewayError(description: "backend-socket-mode: cannot set the mode of \(path): \(String(cString: strerror(errno)))")
        }
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
