import Dispatch
import Foundation
import TimbreCore

/// Splits `count` batch items over the cores in fixed contiguous ranges, so any per-worker
/// partial results can be combined in worker order and the outcome never depends on
/// scheduling. Work inside must not use OpenBLAS threads (the trainer sets them to 1).
enum Parallel {
    static let workers = EngineThreads.count

    /// Calls `body(worker, range)` for each worker's range of items, concurrently.
    /// Callers write only to the items of their own range (or their own worker's scratch),
    /// which is what makes sharing the closure across threads safe.
    static func forEachRange(_ count: Int, _ body: (Int, Range<Int>) -> Void) {
        let parts = max(1, min(workers, count))
        if parts == 1 { body(0, 0..<count); return }
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: parts) { worker in
                let start = count * worker / parts, end = count * (worker + 1) / parts
                shared.value(worker, start..<end)
            }
        }
    }
}

