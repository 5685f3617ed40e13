/// Carries a non-Sendable value (typically a buffer pointer) into `DispatchQueue.concurrentPerform`, whose workers
/// touch disjoint parts of the data. The caller vouches for that; nothing here checks it.
public struct UnsafeSendableBox<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}
