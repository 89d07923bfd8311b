import Foundation

/// Hands out job indices to worker threads in batches and carries their outcomes back to
/// the one thread that records them. Cancelling stops the hand-out; jobs in flight finish.
///
/// Batches shrink as the queue empties (a quarter of each worker's share, at most
/// `maxBatch`), so a folder of short files costs one lock per batch, not per file, and the
/// last jobs still spread over every worker.
final class WorkQueue<Outcome: Sendable>: @unchecked Sendable {
    static var maxBatch: Int { 32 }
    private let lock = NSLock()
    private let signal = DispatchSemaphore(value: 0)
    private var next = 0
    private let indices: [Int]
    private let workers: Int
    private var outcomes: [(Int, Outcome)] = []
    private var cancelled = false

    init(indices: [Int], workers: Int) {
        self.indices = indices
        self.workers = max(1, workers)
    }

    /// The next job indices for a worker; empty when none are left or work was cancelled.
    func take() -> ArraySlice<Int> {
        lock.lock(); defer { lock.unlock() }
        guard !cancelled, next < indices.count else { return [] }
        let remaining = indices.count - next
        let count = max(1, min(Self.maxBatch, remaining / (4 * workers)))
        next += count
        return indices[next - count..<next]
    }

    func cancel() {
        lock.lock(); cancelled = true; lock.unlock()
    }

    var isCancelled: Bool {
        lock.lock(); defer { lock.unlock() }
        return cancelled
    }

    /// Called by workers with the outcomes of one or more jobs.
    func deliver(_ finished: [(Int, Outcome)]) {
        guard !finished.isEmpty else { return }
        lock.lock(); outcomes += finished; lock.unlock()
        signal.signal()
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
