import Synchronization

/// The links that have said HELLO, for routing; the hub changes it, gateway
/// threads read it once per new connection.
final class BackendDirectory: Sendable {
    private let ready = Mutex<[BackendLink]>([])
    private let table: Mutex<[BackendLink?]>

    init(maxLinks: Int) {
        table = Mutex([BackendLink?](repeating: nil, count: maxLinks + 1))
    }

    var links: [BackendLink] { ready.withLock { $0 } }
    var isEmpty: Bool { ready.withLock { $0.isEmpty } }

    func add(_ link: BackendLink) {
        table.withLock { $0[Int(link.id)] = link }
        ready.withLock { $0.append(link) }
    }

    func remove(_ link: BackendLink) {
        ready.withLock { $0.removeAll { $0 === link } }
    }

    /// The link that last held `id`; it may have failed since (check `alive`).
    func link(_ id: UInt16) -> BackendLink? {
        table.withLock { Int(id) < $0.count ? $0[Int(id)] : nil }
    }
}
