@testable import RingGateService
#if canImport(Glibc)
import Glibc
#endif

/// A temporary directory laid out like the parts of `/` that `HostReadings` reads, filled with
/// the values of a host that fits the default configuration; a test changes one file at a time.
/// `remove()` deletes what it wrote.
final class FakeHostTree {
    let root: String
    private var files: Set<String> = []
    private var directories: [String] = []

    init() {
        var template = Array("/tmp/ringgate-host-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed: \(errno)")
        root = String(cString: template)
        set("proc/sys/net/core/somaxconn", "65535")
        set("proc/sys/fs/nr_open", "1048576")
        set("proc/sys/fs/file-max", "4194304")
        set("proc/sys/fs/file-nr", "1000\t0\t4194304")
        set("proc/sys/net/ipv4/tcp_mem", "1048576\t1572864\t2097152")
        set("proc/sys/kernel/osrelease", "6.18.44-test")
        setLimits(openFiles: (1_048_576, 1_048_576), lockedMemory: (8 << 20, 8 << 20))
        setEffectiveCapabilities(0)
    }

    /// Readings of this tree with 4 KiB pages, as on the host the figures were measured on.
    var readings: HostReadings { HostReadings(root: root, pageBytes: 4096) }

    /// Writes `text` and a newline to `relativePath`, making its directories.
    func set(_ relativePath: String, _ text: String) {
        var path = root
        for part in relativePath.split(separator: "/").dropLast() {
            path += "/" + part
            if mkdir(path, 0o755) == 0 { directories.append(path) }
        }
        let file = root + "/" + relativePath
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        precondition(fd >= 0, "cannot write \(file): \(errno)")
        let line = text + "\n"
        _ = line.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        files.insert(file)
    }

    /// `/proc/self/limits` with these soft and hard limits (nil writes "unlimited").
    func setLimits(openFiles: (UInt64?, UInt64?), lockedMemory: (UInt64?, UInt64?)) {
        func show(_ value: UInt64?) -> String { value.map { String($0) } ?? "unlimited" }
        func row(_ name: String, _ limit: (UInt64?, UInt64?), _ units: String) -> String {
            name.padding(26) + show(limit.0).padding(21) + show(limit.1).padding(21) + units
        }
        set("proc/self/limits", [
            "Limit".padding(26) + "Soft Limit".padding(21) + "Hard Limit".padding(21) + "Units",
            row("Max stack size", (8_388_608, nil), "bytes"),
            row("Max open files", openFiles, "files"),
            row("Max locked memory", lockedMemory, "bytes"),
        ].joined(separator: "\n"))
    }

    func setEffectiveCapabilities(_ mask: UInt64) {
        let hex = String(mask, radix: 16)
        set("proc/self/status", "Name:\tringgate\nCapPrm:\t0000000000000000\nCapEff:\t"
            + String(repeating: "0", count: 16 - hex.count) + hex + "\nCapBnd:\t000001ffffffffff")
    }

    func remove() {
        for file in files { unlink(file) }
        for directory in directories.reversed() { rmdir(directory) }
        rmdir(root)
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(1, width - count)) }
}
