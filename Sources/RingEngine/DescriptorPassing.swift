import CRingCore

/// Descriptors over a connected Unix stream socket (SCM_RIGHTS), for a restart that hands the
/// listeners to a new process.
public enum DescriptorPassing {
    /// Sends `message` (at least a byte) with `fds` attached; bytes sent or -errno.
    public static func send(_ socket: Int32, _ fds: [Int32], message: [UInt8]) -> Int {
        Int(rg_fds_send(socket, fds, UInt32(fds.count), message, message.count))
    }

    /// Reads up to `capacity` bytes and up to `maxDescriptors` descriptors (close-on-exec).
    /// Returns the bytes read (0 at EOF) or -errno, and the descriptors received.
    public static func receive(_ socket: Int32, capacity: Int, maxDescriptors: Int) -> (result: Int, message: [UInt8], fds: [Int32]) {
        var fds = [Int32](repeating: -1, count: maxDescriptors)
        var count: UInt32 = 0
        var message = [UInt8](repeating: 0, count: capacity)
        let got = rg_fds_recv(socket, &fds, UInt32(maxDescriptors), &count, &message, capacity)
        return (Int(got), Array(message[..<max(0, Int(got))]), Array(fds[..<Int(count)]))
    }
}
