#if canImport(Glibc)
import Glibc
#endif

/// The process's own series on `/metrics`, read at scrape time in the names Prometheus client
/// libraries use (`process_*`), and `ringgate_build_info`: what an operator's dashboards expect
/// beside the gateway's counters.
enum ProcessMetrics {
    /// The release this build reports; raised with each release.
    static let version = "0.1.0"

    static func render(host: HostReadings = HostReadings()) -> String {
        var out = ""
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        out += series("process_cpu_seconds_total", "counter", "User and system CPU time spent, seconds.", String(cpu))
        if let statm = host.read("proc/self/statm")?.split(separator: " "), statm.count > 1, let pages = UInt64(statm[1]) {
            out += series("process_resident_memory_bytes", "gauge", "Resident memory size, bytes.", "\(pages * host.pageBytes)")
        }
        if let open = openDescriptors() {
            out += series("process_open_fds", "gauge", "Open file descriptors (the process table; sockets live in the rings' tables).", "\(open)")
        }
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            out += series("process_max_fds", "gauge", "The open-file limit.", "\(limit.rlim_cur)")
        }
        if let start = startTimeSeconds(host) {
            out += series("process_start_time_seconds", "gauge", "Start time since the Unix epoch, seconds.", String(start))
        }
        let kernel = host.kernelRelease ?? "unknown"
        out += series("ringgate_build_info", "gauge", "1, labelled with the gateway's version and the kernel it runs on.", "1",
                      labels: "{version=\"\(version)\",kernel=\"\(kernel)\"}")
        return out
    }

    private static func series(_ name: String, _ kind: String, _ help: String, _ value: String, labels: String = "") -> String {
        "# HELP \(name) \(help)\n# TYPE \(name) \(kind)\n\(name)\(labels) \(value)\n"
    }

    private static func openDescriptors() -> Int? {
        guard let dir = opendir("/proc/self/fd") else { return nil }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { $0.prefix { $0 != 0 } }
            if !name.elementsEqual(".".utf8), !name.elementsEqual("..".utf8) { count += 1 }
        }
        return count - 1  // the directory being read
    }

    /// Boot time (`btime` in /proc/stat) plus the process's start in clock ticks after boot.
    private static func startTimeSeconds(_ host: HostReadings) -> Double? {
        guard let stat = host.read("proc/self/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name: state is field 3, starttime field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]),
              let boot = host.read("proc/stat")?.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
              let btime = Double(boot.dropFirst(6)) else { return nil }
        return btime + ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
