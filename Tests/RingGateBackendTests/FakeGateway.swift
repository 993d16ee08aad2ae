#if canImport(Glibc)
import Glibc
#endif
@testable import RingGateBackend

/// The gateway's side of one link, scripted by a test: a listening Unix socket that accepts one
/// worker, with blocking reads and writes (run them off the concurrency pool with `onThread`).
final class FakeGateway: @unchecked Sendable {
    let path: String
    private let listener: Int32
    private var peer: Int32 = -1
    private var received = FrameBuffer()

    init() {
        path = "/tmp/ringgate-sdk-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        unlink(path)
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        precondition(bound == 0 && listen(listener, 4) == 0, "fake gateway cannot listen on \(path)")
    }

    deinit {
        if peer >= 0 { close(peer) }
        close(listener)
        unlink(path)
    }

    func acceptWorker() { peer = accept(listener, nil, nil) }

    func write(_ bytes: [UInt8]) {
        let sent = bytes.withUnsafeBytes { send(peer, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        precondition(sent == bytes.count, "short write to the worker")
    }

    /// The next whole frame from the worker as (type, body), or nil at end of stream.
    func readFrame() -> (UInt8, [UInt8])? {
        var frame: (UInt8, [UInt8])?
        while true {
            try? received.takeFrames(maxFrame: LinkProtocol.defaultMaxFrame) { type, body throws(BackendLinkError) in
                frame = (type, Array(body))
                return false
            }
            if let frame { return frame }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { read(peer, $0.baseAddress, $0.count) }
            if count <= 0 { return nil }
            chunk.withUnsafeBytes { received.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        }
    }

    func closeLink() {
        close(peer)
        peer = -1
    }
}

/// Runs blocking test code on a thread of its own and awaits it.
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    let result = await LinkThread.run { .success(body()) }
    return try! result.get()
}
