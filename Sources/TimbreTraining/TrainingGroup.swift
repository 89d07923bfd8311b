import Foundation
import TimbreCore
import TimbreNN
#if TIMBRE_MPI
import TimbreMPI
#endif

/// The processes that train one model together: one, or the ranks `mpirun` started when
/// Timbre is built with MPI (`TIMBRE_MPI=1`). Each rank computes the gradient of its share
/// of every batch; the gradients are summed across ranks with one allreduce per step, so
/// every rank applies the same update and holds the same weights.
public enum TrainingGroup {
    /// This process's rank, from 0.
    public static var rank: Int { state.rank }
    /// How many processes train together.
    public static var size: Int { state.size }
    /// Rank 0 writes the model and checkpoints and reports progress.
    public static var isLeader: Bool { state.rank == 0 }

    /// Whether this binary can train over MPI.
    public static var supportsMPI: Bool {
        #if TIMBRE_MPI
        return true
        #else
        return false
        #endif
    }

    /// The MPI library's version line, or nil without MPI.
    public static var libraryVersion: String? {
        #if TIMBRE_MPI
        var buffer = [CChar](repeating: 0, count: 512)
        timbre_mpi_library_version(&buffer, Int32(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #else
        return nil
        #endif
    }

    /// This rank's contiguous share of a batch's positions, in rank order.
    public static func share(of batch: Range<Int>) -> Range<Int> {
        let count = batch.count
        return (batch.lowerBound + count * rank / size)..<(batch.lowerBound + count * (rank + 1) / size)
    }

    /// Turns this rank's gradient, the mean over its `items`, into the whole batch's mean
    /// over `batchItems`: weighted by its share, summed across ranks.
    public static func combine(_ parameters: ParameterStore, items: Int, batchItems: Int) {
        let gradients = parameters.gradients
        let share = Float(items) / Float(batchItems)
        for i in gradients.indices { gradients[i] *= share }
        sum(gradients)
    }

    /// A step for a rank with no items in the batch: it adds nothing to the sum but must
    /// take part in it and apply the same update.
    public static func stepWithoutItems(_ parameters: ParameterStore, optimizer: Adam, batchItems: Int) {
        parameters.zeroGradients()
        sum(parameters.gradients)
        optimizer.update(parameters)
    }

    /// Sums `values` across the ranks, in place (nothing to do alone).
    public static func sum(_ values: UnsafeMutableBufferPointer<Float>) {
        guard size > 1, let base = values.baseAddress else { return }
        #if TIMBRE_MPI
        check(timbre_mpi_sum_floats(base, values.count), "summing gradients")
        #endif
    }

    /// `values` summed across the ranks.
    public static func sum(_ values: [Double]) -> [Double] {
        guard size > 1 else { return values }
        var summed = values
        #if TIMBRE_MPI
        summed.withUnsafeMutableBufferPointer { check(timbre_mpi_sum_doubles($0.baseAddress!, $0.count), "summing statistics") }
        #endif
        return summed
    }

    /// Waits until every rank gets here (e.g. until the leader has written a file).
    public static func barrier() {
        guard size > 1 else { return }
        #if TIMBRE_MPI
        check(timbre_mpi_barrier(), "waiting for the other ranks")
        #endif
    }

    /// After every step: the whole batch's loss (each rank's share-weighted loss summed)
    /// and whether any rank was asked to stop, so that all ranks stop at the same step and
    /// all see a non-finite loss at once. Alone, the values as they are.
    public static func agree(weightedLoss: Double, stop: Bool) -> (loss: Double, stop: Bool) {
        guard size > 1 else { return (weightedLoss, stop) }
        let totals = sum([weightedLoss, stop ? 1 : 0])
        return (totals[0], totals[1] > 0)
    }

    /// Throws unless every rank starts from the same epoch (a checkpoint that only some
    /// ranks can see would make them run different numbers of steps).
    public static func checkSameStart(epoch: Int, checkpoint: URL) throws {
        guard size > 1 else { return }
        let totals = sum([Double(epoch), Double(epoch) * Double(epoch)])
        let mean = totals[0] / Double(size)
        guard totals[1] / Double(size) - mean * mean < 1e-9, mean == Double(epoch) else {
            throw FileError(path: checkpoint.path, reason: "the ranks resume from different epochs; the checkpoint must be on a file system every rank sees")
        }
    }

    /// Ends every rank at once after a failure on one of them; returns when alone.
    public static func abortIfShared(code: Int32 = 1) {
        guard size > 1 else { return }
        #if TIMBRE_MPI
        timbre_mpi_abort(code)
        #endif
    }

    /// Ends MPI; call once before the process exits.
    public static func finish() {
        #if TIMBRE_MPI
        if state.started { timbre_mpi_finish() }
        #endif
    }

    private struct State {
        var rank = 0, size = 1, started = false
    }

    /// MPI starts only under a launcher (Open MPI's `OMPI_COMM_WORLD_SIZE`, or PMI/PMIx):
    /// a plain run never touches it.
    private static let state: State = {
        var state = State()
        #if TIMBRE_MPI
        let environment = ProcessInfo.processInfo.environment
        guard ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"].contains(where: { environment[$0] != nil }) else { return state }
        check(timbre_mpi_start(), "starting MPI")
        state.started = true
        state.rank = Int(timbre_mpi_rank())
        state.size = Int(timbre_mpi_size())
        #endif
        return state
    }()

    private static func check(_ code: Int32, _ what: String) {
        guard code != 0 else { return }
        let message = Array("timbre: MPI failed while \(what) (error \(code))\n".utf8)
        _ = message.withUnsafeBytes { Foundation.write(STDERR_FILENO, $0.baseAddress, $0.count) }
        exit(1)
    }
}
