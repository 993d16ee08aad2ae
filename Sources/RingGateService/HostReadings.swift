import RingGateway
#if canImport(Glibc)
import Glibc
#endif

/// A soft and hard resource limit as `/proc/self/limits` shows it; nil stands for unlimited.
public struct ResourceLimit: Sendable, Equatable {
    public var soft: UInt64?
    public var hard: UInt64?

    public init(soft: UInt64?, hard: UInt64?) {
        self.soft = soft
        self.hard = hard
    }
}

/// What `HostCheck` knows about the host, read from files under `root`: sysctls under
/// `proc/sys`, the kernel release, and this process's limits and capabilities under
/// `proc/self`. On a live host `root` is `/`; a test lays out a fake tree with known values.
/// Every reading is taken when asked for and is nil when its file is missing or unreadable
/// (a container may hide `/proc/sys`), so a check that cannot read skips rather than guesses.
public struct HostReadings: Sendable {
    public let root: String
    /// Page size for sysctls counted in pages (`tcp_mem`); the live host's by default.
    public let pageBytes: UInt64

    /// - Parameters:
    ///   - root: the directory standing for `/`.
    ///   - pageBytes: the page size; nil takes the live host's.
    public init(root: String = "/", pageBytes: UInt64? = nil) {
        self.root = root.hasSuffix("/") ? root : root + "/"
        self.pageBytes = pageBytes ?? UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The integers of sysctl `key` (`net.ipv4.tcp_mem` gives three), or nil.
    public func sysctl(_ key: String) -> [UInt64]? {
        guard let text = read("proc/sys/" + key.replacing(".", with: "/")) else { return nil }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        let values = fields.compactMap { UInt64($0) }
        return values.isEmpty || values.count != fields.count ? nil : values
    }

    /// `kernel.osrelease`, e.g. `6.18.44-generic`.
    public var kernelRelease: String? {
        read("proc/sys/kernel/osrelease").map { String($0.filter { $0 != "\n" }) }
    }

    /// The limit whose `/proc/self/limits` row starts with `name` ("Max open files").
    public func limit(_ name: String) -> ResourceLimit? {
        guard let text = read("proc/self/limits") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let fields = line.dropFirst(name.count).split(separator: " ")
            guard fields.count >= 2, fields[..<2].allSatisfy({ $0 == "unlimited" || UInt64($0) != nil }) else { return nil }
            return ResourceLimit(soft: UInt64(fields[0]), hard: UInt64(fields[1]))
        }
        return nil
    }

    /// This process's effective capability mask (`CapEff` in `/proc/self/status`).
    public var effectiveCapabilities: UInt64? {
        guard let text = read("proc/self/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("CapEff:") {
            return UInt64(line.dropFirst("CapEff:".count).filter { !$0.isWhitespace }, radix: 16)
        }
        return nil
    }

    /// A small file's text; nil when it cannot be opened or read.
    func read(_ relativePath: String) -> String? {
        let fd = open(root + relativePath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 16 {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
