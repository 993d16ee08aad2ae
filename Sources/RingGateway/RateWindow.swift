import RingEngine
import RingWebSocket

/// A client's inbound traffic in the current one-second window. A fixed window
/// is enough to stop a flooding client; 12 bytes per connection, and only when
/// a limit is configured.
struct RateWindow {
    var windowStart: UInt32
    var messages: UInt32
    var bytes: UInt32
}

extension GatewayWorker {
    /// Counts one message; past a limit the client is closed with 1008 and false returned.
    func withinRate(_ slot: UInt32, bytes: Int) -> Bool {
        guard let rates else { return true }
        let window = rates.pointer(slot)
        let ticksPerSecond = max(1, 1000 / configuration.tickMs)
        // A window with no message yet is a fresh one, whatever its start says.
        if window.pointee.messages == 0 || now &- window.pointee.windowStart >= ticksPerSecond {
            window.pointee = RateWindow(windowStart: now, messages: 0, bytes: 0)
        }
        window.pointee.messages &+= 1
        window.pointee.bytes = window.pointee.bytes &+ UInt32(clamping: bytes)
        let messageLimit = limits.rateLimitMessages
        let byteLimit = limits.rateLimitBytes
        guard (messageLimit > 0 && window.pointee.messages > messageLimit)
            || (byteLimit > 0 && window.pointee.bytes > byteLimit) else { return true }
        counters.rateLimited += 1
        reportClosed(slot, code: CloseCode.policyViolation.rawValue)
        closeWithFrame(slot, code: .policyViolation, reason: "rate limit exceeded")
        return false
    }
}
