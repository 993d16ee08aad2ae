import RingGateway
public import RingEngine

/// The start-up check: host limits that would silently shrink what this gateway was configured
/// to do, one `Problem` each, for `ringgate` to log as warnings before it starts its rings.
///
/// Each item applies the rule of the matching server-side item of `tuning/check` (see
/// tuning/README.md) to the numbers this process runs with: `--backlog`, and
/// `--max-connections` over `--workers` rings. `tuning/check --connections N` audits a host
/// before anything runs and covers what one process cannot change by its settings (the memory
/// model, conntrack, NUMA). `net.ipv4.ip_local_port_range` is not checked: only the connecting
/// side takes a local port, and a server's accepted sockets all share its listening port.
public struct HostCheck: Sendable {
    /// One shortfall: what is set, what the configuration needs, what it does, how to fix it.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        /// The sysctl or resource limit, as its fix names it.
        public let item: String
        public let current: String
        public let needed: String
        public let effect: String
        public let fix: String

        public var description: String { "\(item) is \(current), needs \(needed): \(effect); fix: \(fix)" }
    }

    /// io_uring never sizes a fixed-file table beyond this (IORING_MAX_FIXED_FILES).
    static let maxFixedFiles: UInt64 = 1 << 20
    /// tuning/check's tcp_mem rule: closing a socket queues its FIN (and any unsent data),
    /// charged to tcp_mem in whole pages, so a mass close needs about a page per socket. The
    /// ~4.1 KB kernel floor of an idle socket is slab memory, which tcp_mem does not count.
    static let tcpMemPagesPerSocket: UInt64 = 1
    /// tuning/check's margin of files beyond those open now and the sockets.
    static let fileMaxMarginFiles: UInt64 = 1024
    /// CAP_IPC_LOCK's bit in the capability masks (linux/capability.h).
    static let capIPCLock: UInt64 = 1 << 14

    let engine: EngineConfiguration
    let host: HostReadings

    /// - Parameters:
    ///   - engine: the configuration the gateway is about to start with.
    ///   - host: where the readings come from; the live host by default.
    public init(engine: EngineConfiguration, host: HostReadings = HostReadings()) {
        self.engine = engine
        self.host = host
    }

    /// Every problem found, in a fixed order; empty when the host fits the configuration.
    public func problems() -> [Problem] {
        [listenBacklog(), openFileLimit(), nrOpen(), fileMax(), lockedMemory(), tcpMem()].compactMap { $0 }
    }

    private var connections: UInt64 { UInt64(engine.maxConnections) }
    private var workers: UInt64 { UInt64(max(1, engine.workers)) }
    /// Connections each ring's fixed-file table must hold for the workers to hold them all.
    private var perRing: UInt64 { divideRoundingUp(connections, workers) }
    private var split: String { "--max-connections \(connections) over --workers \(workers)" }

    func listenBacklog() -> Problem? {
        let backlog = UInt64(engine.backlog)
        guard let somaxconn = host.sysctl("net.core.somaxconn")?.first, somaxconn < backlog else { return nil }
        return Problem(
            item: "net.core.somaxconn", current: "\(somaxconn)", needed: "\(backlog) (--backlog)",
            effect: "the kernel caps every listen backlog at it without a word, so a reconnect storm overflows "
                + "the accept queue and clients wait for SYN retries",
            fix: TuningProfile.fix("net.core.somaxconn", needed: "\(backlog)") { $0[0] >= backlog })
    }

    func openFileLimit() -> Problem? {
        guard let limit = host.limit("Max open files") else { return nil }
        // The core raises the soft limit to the hard one, so the hard limit sizes each ring.
        let ringCap = min(limit.hard ?? Self.maxFixedFiles, Self.maxFixedFiles)
        guard perRing > ringCap else { return nil }
        let why = ringCap == Self.maxFixedFiles
            ? "io_uring never sizes a fixed-file table above \(Self.maxFixedFiles)"
            : "each ring's fixed-file table stops at the open-file limit"
        let raise = perRing <= Self.maxFixedFiles
            ? ", or LimitNOFILE=\(perRing) in tuning/ringgate.service (nofile in tuning/limits.d/ringgate.conf for a shell)"
            : ""
        return Problem(
            item: "RLIMIT_NOFILE", current: "\(limit.hard.map { String($0) } ?? "unlimited") (hard)",
            needed: "\(perRing) per worker ring (\(split))",
            effect: "\(why), so \(workers) workers hold at most \(ringCap * workers) connections",
            fix: "--workers \(divideRoundingUp(connections, ringCap))\(raise)")
    }

    func nrOpen() -> Problem? {
        let needed = min(perRing, Self.maxFixedFiles)
        guard let nrOpen = host.sysctl("fs.nr_open")?.first, nrOpen < needed else { return nil }
        return Problem(
            item: "fs.nr_open", current: "\(nrOpen)", needed: "\(needed) per worker ring (\(split))",
            effect: "no open-file limit can be raised above it, so a ring holds at most \(nrOpen) connections",
            fix: TuningProfile.fix("fs.nr_open", needed: "\(needed)") { $0[0] >= needed }
                + ", or --workers \(divideRoundingUp(connections, max(1, nrOpen)))")
    }

    func fileMax() -> Problem? {
        guard let fileMax = host.sysctl("fs.file-max")?.first else { return nil }
        let openNow = host.sysctl("fs.file-nr")?.first ?? 0
        let needed = openNow + connections + Self.fileMaxMarginFiles
        guard fileMax < needed else { return nil }
        return Problem(
            item: "fs.file-max", current: "\(fileMax)",
            needed: "\(needed) (\(openNow) files open now + \(connections) sockets + \(Self.fileMaxMarginFiles))",
            effect: "every socket is a file, also while only a ring's table holds it; past the limit accepts fail with ENFILE",
            fix: TuningProfile.fix("fs.file-max", needed: "\(needed)") { $0[0] >= needed })
    }

    func lockedMemory() -> Problem? {
        guard ringsChargeLockedMemory, let limit = host.limit("Max locked memory"), let soft = limit.soft else {
            return nil
        }
        let needed = pinnedBytesPerRing * workers
        guard soft < needed else { return nil }
        return Problem(
            item: "RLIMIT_MEMLOCK", current: "\(soft) bytes",
            needed: "\(needed) bytes (\(workers) workers x \(pinnedBytesPerRing))",
            effect: "this kernel charges each ring's queues and provided-buffer ring to locked memory (Linux 6.14+, "
                + "without CAP_IPC_LOCK, shared by the user's processes); past it io_uring_setup fails with ENOMEM",
            fix: "LimitMEMLOCK=infinity in tuning/ringgate.service (memlock in tuning/limits.d/ringgate.conf for a shell)")
    }

    func tcpMem() -> Problem? {
        guard let tcpMem = host.sysctl("net.ipv4.tcp_mem"), tcpMem.count == 3 else { return nil }
        let needed = connections * Self.tcpMemPagesPerSocket
        guard tcpMem[2] < needed else { return nil }
        return Problem(
            item: "net.ipv4.tcp_mem", current: "\(tcpMem.map { String($0) }.joined(separator: " ")) (pages)",
            needed: "max \(needed) (\(Self.tcpMemPagesPerSocket) page per connection, \((needed * host.pageBytes) >> 20) MiB)",
            effect: "closing every connection at once (a drain, a restart) queues about a page on each socket; past "
                + "the max TCP allocations fail and sockets are reset",
            fix: TuningProfile.fix("net.ipv4.tcp_mem", needed: "\(needed / 2) \(needed * 3 / 4) \(needed)") {
                $0.count == 3 && $0[2] >= needed
            })
    }

    /// Whether io_uring charges this process's rings to RLIMIT_MEMLOCK. From Linux 6.14 the
    /// SQ/CQ rings and provided-buffer rings are io_uring memory regions, which charge the user's
    /// locked memory unless the process has CAP_IPC_LOCK; earlier kernels charge the memory
    /// cgroup instead. An unreadable kernel version counts as charging.
    var ringsChargeLockedMemory: Bool {
        if let capabilities = host.effectiveCapabilities, capabilities & Self.capIPCLock != 0 { return false }
        guard let version = host.kernelRelease.flatMap(Self.majorMinor) else { return true }
        return version.major > 6 || (version.major == 6 && version.minor >= 14)
    }

    /// Locked memory one worker's ring takes: the rings region (a header of at most 256 bytes,
    /// a 16-byte CQE per CQ entry, the 4-byte SQ index array), the SQE array, and the 16-byte
    /// entries of the provided-buffer ring, each in whole pages; the kernel rounds both queue
    /// sizes up to powers of two. At the defaults that is 54 pages, which matches the smallest
    /// RLIMIT_MEMLOCK that let one worker start on Linux 6.18.
    var pinnedBytesPerRing: UInt64 {
        let sqEntries = UInt64(engine.submissionEntries).roundedUpToPowerOfTwo
        let cqEntries = UInt64(engine.completionEntries).roundedUpToPowerOfTwo
        let rings = pageAligned(256 + 16 * cqEntries + 4 * sqEntries)
        let sqes = pageAligned(64 * sqEntries)
        // 0 lets the core choose 64 or 1,024 buffers by the kernel's features: count the larger.
        let bufferCount = engine.receiveBufferCount == 0 ? 1024 : engine.receiveBufferCount
        let bufferRing = pageAligned(16 * UInt64(bufferCount))
        return rings + sqes + bufferRing
    }

    private func pageAligned(_ bytes: UInt64) -> UInt64 { divideRoundingUp(bytes, host.pageBytes) * host.pageBytes }

    /// "6.18.44-generic" -> (6, 18).
    static func majorMinor(_ release: String) -> (major: Int, minor: Int)? {
        let numbers = release.split(separator: "-").first?.split(separator: ".") ?? []
        guard numbers.count >= 2, let major = Int(numbers[0]), let minor = Int(numbers[1]) else { return nil }
        return (major, minor)
    }
}

private func divideRoundingUp(_ value: UInt64, _ divisor: UInt64) -> UInt64 { (value + divisor - 1) / divisor }

extension UInt64 {
    fileprivate var roundedUpToPowerOfTwo: UInt64 { self <= 1 ? 1 : 1 << (64 - (self - 1).leadingZeroBitCount) }
}
