#if canImport(Glibc)
import Glibc
#endif

/// Figures read from /proc: a process's memory and CPU, the host's available memory.
enum ProcessProbe {
    /// Resident set size of `pid` in bytes, from /proc/PID/status.
    static func residentBytes(_ pid: Int32) -> Int? { statusField(pid, "VmRSS:") }

    /// Resident anonymous memory of `pid` in bytes (RssAnon): what the process allocated,
    /// without the shared library pages a first use faults in.
    static func anonymousBytes(_ pid: Int32) -> Int? { statusField(pid, "RssAnon:") }

    private static func statusField(_ pid: Int32, _ name: String) -> Int? {
        guard let text = read("/proc/\(pid)/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let kb = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            return kb.map { $0 * 1024 }
        }
        return nil
    }

    /// CPU seconds (user + system) used so far by `pid`, from /proc/PID/stat.
    static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let text = read("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14 and stime 15 (1-based, proc(5)).
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// How many CPUs this process may run on: the bits of its affinity mask (what
    /// sched_getaffinity returns, read from the main thread's Cpus_allowed, which ringload never
    /// pins); 1 when it cannot be read.
    static func allowedCPUCount() -> Int {
        guard let text = read("/proc/self/status") else { return 1 }
        for line in text.split(separator: "\n") where line.hasPrefix("Cpus_allowed:") {
            let mask = line.dropFirst("Cpus_allowed:".count).filter(\.isHexDigit)
            let count = mask.reduce(0) { $0 + (Int(String($1), radix: 16) ?? 0).nonzeroBitCount }
            return max(1, count)
        }
        return 1
    }

    /// MemAvailable in bytes, from /proc/meminfo.
    static func memAvailableBytes() -> Int? {
        guard let text = read("/proc/meminfo") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
        }
        return nil
    }

    /// Bytes of kernel slab objects in use (active objects times object size, every cache in
    /// /proc/slabinfo; root only). Unlike MemAvailable it does not move when freed objects are
    /// reused, so small differences per connection show.
    static func slabInUseBytes() -> Int? {
        guard let text = read("/proc/slabinfo") else { return nil }
        var total = 0
        for line in text.split(separator: "\n").dropFirst(2) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 3, let active = Int(fields[1]), let size = Int(fields[3]) else { continue }
            total += active * size
        }
        return total
    }

    static func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            bytes += chunk[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
