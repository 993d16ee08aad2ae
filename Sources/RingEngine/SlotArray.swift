#if canImport(Glibc)
import Glibc
#endif

/// A fixed array of plain values indexed by connection slot, mapped once at
/// worker start. The mapping is anonymous, so a page costs memory only once a
/// slot in it is used: capacity for 20,000 connections costs nothing while
/// they are not there.
///
/// Elements start as all-zero bytes; `Element` must be a plain value for which
/// that is either valid or overwritten before use.
/// Public and inlinable so that the per-message lookups of the layers above compile to one
/// load each (a `package` declaration was not inlined across modules, per callgrind).
@frozen
public struct SlotArray<Element: BitwiseCopyable> {
    public let base: UnsafeMutablePointer<Element>
    public let count: Int

    package init(count: Int) {
        let bytes = max(1, count * MemoryLayout<Element>.stride)
        let mapped = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let mapped, mapped != MAP_FAILED else {
            fatalError("cannot map \(bytes) bytes for connection state")
        }
        base = mapped.bindMemory(to: Element.self, capacity: count)
        self.count = count
    }

    @inlinable @inline(__always)
    public subscript(slot: UInt32) -> Element {
        get { base[Int(slot)] }
        nonmutating set { base[Int(slot)] = newValue }
    }

    @inlinable @inline(__always)
    public func pointer(_ slot: UInt32) -> UnsafeMutablePointer<Element> { base + Int(slot) }

    package func unmap() {
        munmap(base, max(1, count * MemoryLayout<Element>.stride))
    }
}
