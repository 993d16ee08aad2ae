#if canImport(Glibc)
import Glibc
#endif

/// Formats the sockaddr of an RG_EV_PEER event as `ip:port` (`[ip]:port` for IPv6).
public enum PeerAddress {
    public static func format(_ event: EngineEvent) -> String? {
        guard event.result > 0, let data = event.data else { return nil }
        let raw = UnsafeRawPointer(data)
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(raw.load(as: sa_family_t.self)) {
        case AF_INET where event.result >= MemoryLayout<sockaddr_in>.size:
            var address = raw.loadUnaligned(as: sockaddr_in.self)
            guard inet_ntop(AF_INET, &address.sin_addr, &text, socklen_t(text.count)) != nil else { return nil }
            return "\(String(cString: text)):\(UInt16(bigEndian: address.sin_port))"
        case AF_INET6 where event.result >= MemoryLayout<sockaddr_in6>.size:
            var address = raw.loadUnaligned(as: sockaddr_in6.self)
            guard inet_ntop(AF_INET6, &address.sin6_addr, &text, socklen_t(text.count)) != nil else { return nil }
            return "[\(String(cString: text))]:\(UInt16(bigEndian: address.sin6_port))"
        default:
            return nil
        }
    }
}
