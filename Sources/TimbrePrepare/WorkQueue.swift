import Foundation

/// Hands out job indices to worker threads and carries their outcomes back to the one
/// thread that records them. Cancelling stops the hand-out; jobs in flight finish.
final class WorkQueue<Outcome: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private let signal = DispatchSemaphore(value: 0)
    private var next = 0
    private let indices: [Int]
    private var outcomes: [(Int, Outcome)] = []
    private var cancelled = false

    init(indices: [Int]) { self.indices = indices }

    /// The next job index for a worker, or nil when there is none left or work was cancelled.
    func take() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard !cancelled, next < indices.count else { return nil }
        next += 1
        return indices[next - 1]
    }

    func cancel() {
        lock.lock(); cancelled = true; lock.unlock()
    }

    var isCancelled: Bool {
        lock.lock(); defer { lock.unlock() }
        return cancelled
    }

    /// Called by workers.
    func deliver(_ index: Int, _ outcome: Outcome) {
        lock.lock(); outcomes.append((index, outcome)); lock.unlock()
        signal.signal()
    }

    /// Number of indices handed out so far.
    var takenCount: Int {
        lock.lock(); defer { lock.unlock() }
        return next
    }

    /// Waits up to `timeout` seconds for outcomes and returns all that are ready (possibly
    /// none).
    func receive(timeout: Double) -> [(Int, Outcome)] {
        _ = signal.wait(timeout: .now() + timeout)
        lock.lock(); defer { lock.unlock() }
        let ready = outcomes
        outcomes.removeAll()
        return ready
    }
}
