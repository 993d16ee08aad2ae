import RingEngine
@testable import RingGateService
import RingGateway
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// HostCheck against fake trees: a host that fits, then one short value at a time, each
/// expected to give exactly its own line with the current value, the need and the fix.
@Suite struct HostCheckTests {
    private func problems(_ tree: FakeHostTree, _ tweak: (inout EngineConfiguration) -> Void = { _ in }) -> [HostCheck.Problem] {
        var engine = EngineConfiguration()
        tweak(&engine)
        return HostCheck(engine: engine, host: tree.readings).problems()
    }

    @Test func aHostThatFitsGivesNoLine() {
        let tree = FakeHostTree()
        defer { tree.remove() }
        #expect(problems(tree).isEmpty)
        #expect(problems(tree) { $0.maxConnections = 1_000_000; $0.workers = 1; $0.backlog = 65535 }.isEmpty)
    }

    @Test func unreadableFilesAreSkipped() {
        let tree = FakeHostTree()
        defer { tree.remove() }
        let empty = HostReadings(root: tree.root + "/nothing-here", pageBytes: 4096)
        #expect(HostCheck(engine: EngineConfiguration(), host: empty).problems().isEmpty)
        tree.set("proc/sys/net/core/somaxconn", "garbage")
        tree.set("proc/self/limits", "Max open files            lots                 20000                files")
        #expect(problems(tree) { $0.maxConnections = 100_000; $0.backlog = 100_000 }.isEmpty)
    }

    @Test func backlogAboveSomaxconn() throws {
        let tree = FakeHostTree()
        defer { tree.remove() }
        tree.set("proc/sys/net/core/somaxconn", "4096")
        #expect(problems(tree).isEmpty)  // --backlog 4096 by default: equal is enough
        let found = problems(tree) { $0.backlog = 8192 }
        try #require(found.count == 1)
        #expect(found[0].item == "net.core.somaxconn")
        #expect(found[0].current == "4096")
        #expect(found[0].needed == "8192 (--backlog)")
        #expect(found[0].fix == "tuning/apply --profile c1m (sets net.core.somaxconn = 65535)")
        #expect(found[0].description.hasPrefix("net.core.somaxconn is 4096, needs 8192 (--backlog): the kernel caps"))
        // Beyond every profile: the fix is the sysctl itself.
        #expect(problems(tree) { $0.backlog = 100_000 }.first?.fix == "sysctl -w net.core.somaxconn='100000'")
    }

    @Test func openFileLimitCapsEachRing() throws {
        let tree = FakeHostTree()
        defer { tree.remove() }
        tree.setLimits(openFiles: (1024, 20_000), lockedMemory: (8 << 20, 8 << 20))
        #expect(problems(tree) { $0.maxConnections = 40_000 }.isEmpty)  // 2 x 20000
        let found = problems(tree) { $0.maxConnections = 50_000 }
        try #require(found.count == 1)
        #expect(found[0].item == "RLIMIT_NOFILE")
        #expect(found[0].current == "20000 (hard)")
        #expect(found[0].needed == "25000 per worker ring (--max-connections 50000 over --workers 2)")
        #expect(found[0].effect.hasSuffix("so 2 workers hold at most 40000 connections"))
        #expect(found[0].fix.hasPrefix("--workers 3, or LimitNOFILE=25000 in tuning/ringgate.service"))
        #expect(problems(tree) { $0.maxConnections = 50_000; $0.workers = 3 }.isEmpty)
    }

    @Test func noRingHoldsMoreThanIoUringAllows() throws {
        let tree = FakeHostTree()
        defer { tree.remove() }
        tree.setLimits(openFiles: (nil, nil), lockedMemory: (nil, nil))
        let found = problems(tree) { $0.maxConnections = 3_000_000; $0.workers = 2; $0.backlog = 4096 }
        let nofile = try #require(found.first { $0.item == "RLIMIT_NOFILE" })
        #expect(nofile.effect.hasPrefix("io_uring never sizes a fixed-file table above 1048576"))
        #expect(nofile.fix == "--workers 3")
    }

    @Test func nrOpenCapsEveryLimit() throws {
        let tree = FakeHostTree()
        defer { tree.remove() }
        tree.set("proc/sys/fs/nr_open", "20000")
        tree.setLimits(openFiles: (20_000, 20_000), lockedMemory: (8 << 20, 8 << 20))
        let found = problems(tree) { $0.maxConnections = 50_000 }
        #expect(found.map(\.item) == ["RLIMIT_NOFILE", "fs.nr_open"])
        let nrOpen = try #require(found.last)
        #expect(nrOpen.current == "20000")
        #expect(nrOpen.needed == "25000 per worker ring (--max-connections 50000 over --workers 2)")
        #expect(nrOpen.fix == "tuning/apply --profile c1m (sets fs.nr_open = 1048576), or --workers 3")
    }

    @Test func fileMaxCountsOpenFilesAndSockets() throws {
        let tree = FakeHostTree()
        defer { tree.remove() }
        tree.set("proc/sys/fs/file-max", "60000")
        tree.set("proc/sys/fs/file-nr", "5000\t0\t60000")
        #expect(problems(tree) { $0.maxConnections = 53_000 }.isEmpty)  // 5000 + 53000 + 1024 <= 60000
        let found = problems(tree) { $0.maxConnections = 55_000 }
        try #require(found.count == 1)
        #expect(found[0].item == "fs.file-max")
        #expect(found[0].needed == "61024 (5000 files open now + 55000 sockets + 1024)")
        #expect(found[0].fix == "tuning/apply --profile c1m (sets fs.file-max = 4194304)")
    }

    @Test func lockedMemoryOnlyWhereRingsAreCharged() throws {
        let tree = FakeHostTree()
        defer { tree.remove() }
        tree.setLimits(openFiles: (1_048_576, 1_048_576), lockedMemory: (262_144, 262_144))
        let found = problems(tree)
        try #require(found.count == 1)
        #expect(found[0].item == "RLIMIT_MEMLOCK")
        #expect(found[0].current == "262144 bytes")
        #expect(found[0].needed == "442368 bytes (2 workers x 221184)")
        #expect(found[0].fix.hasPrefix("LimitMEMLOCK=infinity in tuning/ringgate.service"))
        #expect(problems(tree) { $0.workers = 1 }.isEmpty)
        tree.setEffectiveCapabilities(HostCheck.capIPCLock)
        #expect(problems(tree).isEmpty)  // CAP_IPC_LOCK: nothing is charged
        tree.setEffectiveCapabilities(0)
        tree.set("proc/sys/kernel/osrelease", "6.13.2")
        #expect(problems(tree).isEmpty)  // before memory regions: the memory cgroup pays
    }

    /// The smallest RLIMIT_MEMLOCK that let one worker start on Linux 6.18 without
    /// CAP_IPC_LOCK: 221184 bytes at the defaults, 270336 with 4096 receive buffers.
    @Test func pinnedBytesMatchWhatTheKernelCharged() {
        let tree = FakeHostTree()
        defer { tree.remove() }
        var engine = EngineConfiguration()
        #expect(HostCheck(engine: engine, host: tree.readings).pinnedBytesPerRing == 221_184)
        engine.receiveBufferCount = 4096
        #expect(HostCheck(engine: engine, host: tree.readings).pinnedBytesPerRing == 270_336)
    }

    @Test func tcpMemNeedsAPagePerConnection() throws {
        let tree = FakeHostTree()
        defer { tree.remove() }
        tree.set("proc/sys/net/ipv4/tcp_mem", "1000\t2000\t10000")
        #expect(problems(tree).isEmpty)  // 10000 connections, 10000 pages
        let found = problems(tree) { $0.maxConnections = 20_000 }
        try #require(found.count == 1)
        #expect(found[0].item == "net.ipv4.tcp_mem")
        #expect(found[0].current == "1000 2000 10000 (pages)")
        #expect(found[0].needed == "max 20000 (1 page per connection, 78 MiB)")
        #expect(found[0].fix == "tuning/apply --profile c1m (sets net.ipv4.tcp_mem = 1048576 1572864 2097152)")
        #expect(problems(tree) { $0.maxConnections = 3_000_000; $0.workers = 3 }.first { $0.item == "net.ipv4.tcp_mem" }?
            .fix == "tuning/apply --profile c10m (sets net.ipv4.tcp_mem = 10485760 12582912 16777216)")
    }

    @Test func readsThisHost() {
        let host = HostReadings()
        #expect(host.sysctl("net.core.somaxconn") != nil)
        #expect(host.sysctl("net.ipv4.tcp_mem")?.count == 3)
        #expect(host.limit("Max open files")?.hard != nil)
        #expect(host.effectiveCapabilities != nil)
        #expect(host.kernelRelease.flatMap(HostCheck.majorMinor) != nil)
    }

    /// The fixes name profiles by the values `tuning/apply` sets: they must be the files' values.
    @Test(arguments: TuningProfile.all.map(\.name))
    func profilesMatchTheTuningFiles(name: String) throws {
        let profile = try #require(TuningProfile.all.first { $0.name == name })
        let repository = String(#filePath.split(separator: "/Tests/").first!)
        let text = try #require(Self.read("\(repository)/tuning/sysctl.d/90-ringgate-\(name).conf"))
        var inFile: [String: [UInt64]] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && line.contains("=") {
            let parts = line.split(separator: "=", maxSplits: 1)
            let key = parts[0].filter { !$0.isWhitespace }
            inFile[key] = parts[1].split(separator: " ").compactMap { UInt64($0) }
        }
        for (key, value) in profile.values {
            #expect(inFile[key] == value, "\(key) in 90-ringgate-\(name).conf")
        }
    }

    private static func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while case let count = fread(&chunk, 1, chunk.count, file), count > 0 { bytes += chunk[..<count] }
        return String(decoding: bytes, as: UTF8.self)
    }
}
