/// Bytes read from the link that do not yet form whole frames. A read may end anywhere, so
/// bytes accumulate here and whole frames are taken from the front.
struct FrameBuffer {
    private var bytes: [UInt8] = []
    private var start = 0

    var buffered: Int { bytes.count - start }

    mutating func append(_ raw: UnsafeRawBufferPointer) {
        if start == bytes.count {
            bytes.removeAll(keepingCapacity: true)
            start = 0
        }
        bytes.append(contentsOf: raw)
    }

    /// Hands each whole frame to `body` (type and body, valid only during the call) until the
    /// bytes run out or `body` returns false. A length of 0 or above `maxFrame` throws: nothing
    /// after it can be trusted.
    mutating func takeFrames(
        maxFrame: UInt32, _ body: (UInt8, UnsafeRawBufferPointer) throws(BackendLinkError) -> Bool
    ) throws(BackendLinkError) {
        var keepGoing = true
        while keepGoing {
            // Array.withUnsafeBytes rethrows untyped errors, so the outcome travels as a Result.
            let scan = bytes.withUnsafeBytes { raw -> Result<Int?, BackendLinkError> in
                switch LinkFrameScan.next(in: UnsafeRawBufferPointer(rebasing: raw[start...]), maxFrame: maxFrame) {
                case .frame(let type, let frameBody, let size):
                    do throws(BackendLinkError) {
                        keepGoing = try body(type, frameBody)
                    } catch {
                        return .failure(error)
                    }
                    return .success(size)
                case .needMore:
                    return .success(nil)
                case .invalidLength(let length):
                    return .failure(.protocolViolation("frame length \(length)"))
                }
            }
            guard let size = try scan.get() else { break }
            start += size
        }
        // Keep a partial frame at the front so the next append does not move much.
        if start > 0, start * 2 >= bytes.count {
            bytes.removeSubrange(0..<start)
            start = 0
        }
    }
}
