import Foundation

/// Threads for the engine's parallel loops: one per core, or `TIMBRE_THREADS` (e.g. 1 for
/// each of several processes training together on one machine).
public enum EngineThreads {
    public static let count = max(1, ProcessInfo.processInfo.environment["TIMBRE_THREADS"].flatMap { Int($0) } ?? ProcessInfo.processInfo.activeProcessorCount)
}

/// Hands out the indices 0..<count to worker threads, each exactly once, in order.
public final class IndexDispenser: @unchecked Sendable {
    public let count: Int
    private let lock = NSLock()
    private var next = 0

    public init(count: Int) { self.count = count }

    /// The next index, or nil when all have been handed out.
    public func take() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }
}

/// Carries a value to worker threads that only read it (or touch disjoint parts of it),
/// which the compiler cannot see by itself.
public struct UncheckedBox<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}
