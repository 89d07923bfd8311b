import COpenBLAS
import Foundation
import TimbreAudio
import TimbreDSP
import TimbreDatasets
import TimbreStore
import TimbreCore

/// What `timbre prepare` is asked to do.
public struct PrepareOptions: Sendable {
    public var inputs: [URL]
    public var output: URL
    /// nil: detect each input's layout.
    public var layout: DatasetLayout?
    public var settings = FeatureSettings()
    public var quality = ResamplerQuality.polyphase
    /// Which clips multitrack songs give (MedleyDB layout); other layouts are unaffected.
    public var multitrackClips = MultitrackClips.both
    /// When set, a song's stem clips are kept only for stems of these class codes (say
    /// "voi": the sung parts on their own, the other parts only inside the mixes).
    public var stemClipClasses: [String]?
    /// Worker threads for decoding and features; defaults to the number of cores.
    public var workers = ProcessInfo.processInfo.activeProcessorCount
    public var taxonomy = Taxonomy.standard
    /// Only the recordings of this shard (all of one recording's files stay together, so
    /// a recording never gets two group ids when shards are merged).
    public var shard: Shard?

    public init(inputs: [URL], output: URL) {
        self.inputs = inputs
        self.output = output
    }
}

/// How a run went, for the summary and the exit status.
public struct PrepareSummary: Sendable {
    /// The counters at the end of the run.
    public var counts = PrepareProgress()
    public var audioSeconds = 0.0
    public var elapsedSeconds = 0.0
    /// One line per input that could not be used: "path: reason".
    public var failures: [String] = []
    public var notes: [String] = []
    public var layouts: [String] = []
    /// Every layout read and how many files (jobs) it gave.
    public var parts: [ImportPart] = []
    public var interrupted = false
}

/// Counters of a run: live for a progress display, final in the summary.
public struct PrepareProgress: Sendable {
    public var jobsDone = 0
    public var jobsTotal = 0
    /// Jobs taken from the resume record of an earlier, interrupted run.
    public var jobsResumed = 0
    public var clipsKept = 0
    /// Clips dropped by the RMS gate.
    public var clipsSilent = 0
    /// Jobs whose audio could not be read.
    public var failures = 0
    /// Clips computed in this run (not resumed), for the rate.
    public var clipsComputed = 0
}

/// Runs the preparation pipeline: import every input, extract features on worker threads,
/// record each finished job in the resume journal and write the HDF5 feature file on this
/// thread, then move the file into place.
public final class Preparer: @unchecked Sendable {
    public let options: PrepareOptions
    private let cancelLock = NSLock()
    private var cancelHandler: (() -> Void)?
    private var cancelRequested = false

    public init(options: PrepareOptions) { self.options = options }

    /// Stops handing out work; finished jobs stay recorded for a later resume. Safe to
    /// call from any thread, e.g. a signal handler's queue.
    public func cancel() {
        cancelLock.lock()
        cancelRequested = true
        let handler = cancelHandler
        cancelLock.unlock()
        handler?()
    }

    /// - Parameters:
    ///   - progress: called on this thread after every finished job.
    ///   - failure: called once per failed input, "path: reason".
    public func run(progress: (PrepareProgress) -> Void = { _ in }, failure: (String) -> Void = { _ in }) throws -> PrepareSummary {
        let started = Date()
        var summary = PrepareSummary()
        var jobs: [PreparationJob] = []
        var metadata = FeatureFileMetadata(
            classCodes: options.taxonomy.codes, classNames: options.taxonomy.names,
            settings: options.settings, resampler: options.quality.recordedName)
        if options.multitrackClips != .both { metadata.multitrackClips = options.multitrackClips.rawValue }
        var stemClipIndices: Set<Int>?
        if let codes = options.stemClipClasses {
            let unknown = codes.filter { options.taxonomy.index(of: $0) == nil }
            guard unknown.isEmpty, !codes.isEmpty else {
                let named = codes.isEmpty ? "none given" : unknown.joined(separator: ",") + " not in the taxonomy"
                throw FileError(path: options.output.path, reason: "stem clip classes: \(named) (the codes are \(options.taxonomy.codes.joined(separator: ",")))")
            }
            stemClipIndices = Set(codes.compactMap(options.taxonomy.index(of:)))
            metadata.stemClipClasses = codes
        }
        for input in options.inputs {
            let found = try DatasetImporter.importRoot(input, layout: options.layout, taxonomy: options.taxonomy)
            let prefix = options.inputs.count > 1 ? input.lastPathComponent + "/" : ""
            jobs += found.jobs.map { $0.prefixed(prefix) }
            for problem in found.failures {
                let line = "\(input.appendingPathComponent(problem.path).path): \(problem.reason)"
                summary.failures.append(line)
                failure(line)
            }
            summary.notes += found.notes
            summary.layouts += found.parts.count > 1 ? found.parts.map(\.layout.rawValue) : [found.layout.rawValue]
            summary.parts += found.parts.map { ImportPart(folder: prefix + $0.folder, layout: $0.layout, jobs: $0.jobs) }
            metadata.inputs.append(input.path)
            // A root read part by part records each part's layout.
            metadata.layouts += found.parts.count > 1 ? found.parts.map(\.layout.rawValue) : [found.layout.rawValue]
        }
        guard !jobs.isEmpty else {
            throw FileError(path: options.inputs.map(\.path).joined(separator: ", "), reason: "no usable audio files found")
        }
        if let shard = options.shard {
            jobs = jobs.filter { shard.contains($0.group) }
            metadata.shard = shard.description
        }

        let journal = try ResumeJournal(output: options.output, fingerprint: fingerprint(metadata))
        let keys = jobs.map(ResumeJournal.key(of:))
        var state = PrepareProgress(jobsTotal: jobs.count)
        var pending: [Int] = []
        var resumed = Set<Int>()
        for (index, key) in keys.enumerated() {
            if let saved = journal.counts(jobs[index], key: key) {
                resumed.insert(index)
                state.jobsDone += 1
                state.clipsKept += saved.clips
                state.clipsSilent += saved.silentClips
            } else {
                pending.append(index)
            }
        }
        state.jobsResumed = resumed.count
        progress(state)

        // The feature file is written on this thread, in job order, while the workers run.
        let file = try OrderedFeatureWriter(destination: options.output, metadata: metadata, jobs: jobs, keys: keys, journal: journal)
        // More threads than cores would only hold more files in memory at once.
        let workerCount = max(1, min(options.workers, pending.count, ProcessInfo.processInfo.activeProcessorCount))
        let queue = WorkQueue<Result<JobResult, Error>>(indices: pending, workers: workerCount)
        cancelLock.lock()
        cancelHandler = { queue.cancel() }
        let alreadyCancelled = cancelRequested
        cancelLock.unlock()
        if alreadyCancelled { queue.cancel() }

        // The workers are the parallelism; OpenBLAS (the resampler's matrix products) stays
        // on the calling thread so the two never compete for the cores.
        openblas_set_num_threads(1)
        // Every file allocates and frees buffers of a few hundred kilobytes; kept in the
        // heap, they are not mapped, faulted in and unmapped again for each file.
        MemoryPolicy.reuseLargeAllocations()
        let settings = options.settings, quality = options.quality, multitrackClips = options.multitrackClips
        let keptStemClasses = stemClipIndices
        let finishedWorkers = DispatchGroup()
        for _ in 0..<workerCount {
            finishedWorkers.enter()
            let jobsCopy = jobs
            Thread {
                let processor = JobProcessor(settings: settings, quality: quality, multitrackClips: multitrackClips, stemClipClasses: keptStemClasses)
                var batch = queue.take()
                while !batch.isEmpty {
                    // Outcomes go back together, or every quarter second on long files.
                    var finished: [(Int, Result<JobResult, Error>)] = []
                    var lastDelivery = Date()
                    for index in batch {
                        finished.append((index, Result { try processor.process(jobsCopy[index]) }))
                        if Date().timeIntervalSince(lastDelivery) > 0.25 {
                            queue.deliver(finished)
                            finished.removeAll()
                            lastDelivery = Date()
                        }
                    }
                    queue.deliver(finished)
                    batch = queue.take()
                }
                finishedWorkers.leave()
            }.start()
        }

        do {
            for index in resumed.sorted() { file.finished(index, result: nil) }
            var received = 0
            while received < pending.count {
                let batch = queue.receive(timeout: 0.25)
                for (index, outcome) in batch {
                    received += 1
                    state.jobsDone += 1
                    switch outcome {
                    case .success(let result):
                        try journal.append(result, key: keys[index])
                        for line in result.warnings {
                            summary.failures.append(line)
                            failure(line)
                        }
                        state.clipsKept += result.clips.count
                        state.clipsComputed += result.clips.count
                        state.clipsSilent += result.silentClips
                        file.finished(index, result: result)
                    case .failure(let error):
                        state.failures += 1
                        file.failed(index)
                        let line = Self.describe(error, job: jobs[index])
                        summary.failures.append(line)
                        failure(line)
                    }
                    progress(state)
                }
                try file.writeReady()
                if batch.isEmpty && queue.isCancelled && finishedWorkers.wait(timeout: .now()) == .success {
                    // Every worker has stopped; record what they delivered last.
                    for (index, outcome) in queue.receive(timeout: 0) {
                        guard case .success(let result) = outcome else { continue }
                        try journal.append(result, key: keys[index])
                        state.jobsDone += 1
                    }
                    break
                }
            }
            finishedWorkers.wait()
        } catch {
            queue.cancel()
            finishedWorkers.wait()
            file.abandon()
            throw error
        }
        summary.counts = state
        if queue.isCancelled {
            journal.sync()
            file.abandon()
            summary.interrupted = true
            summary.elapsedSeconds = Date().timeIntervalSince(started)
            return summary
        }
        try file.writeReady()
        summary.audioSeconds = file.audioSeconds
        // An empty file never replaces what is at the destination (an empty shard is
        // complete, though, and merges like the others).
        guard state.clipsKept > 0 || (options.shard != nil && state.failures == 0) else {
            file.abandon()
            let failed = state.failures > 0 ? "every input failed" : "every clip was below the RMS gate"
            throw FileError(path: options.output.path, reason: "no clips to write (\(failed)); the file was not written")
        }
        try file.commit()
        journal.remove()
        summary.elapsedSeconds = Date().timeIntervalSince(started)
        return summary
    }

    private func fingerprint(_ metadata: FeatureFileMetadata) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let settings = (try? encoder.encode(options.settings)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return [settings, metadata.resampler, metadata.classCodes.joined(separator: ","), metadata.inputs.joined(separator: "|"), metadata.layouts.joined(separator: ","), metadata.shard ?? "", metadata.multitrackClips ?? "", metadata.stemClipClasses?.joined(separator: ",") ?? ""].joined(separator: "\n")
    }

    private static func describe(_ error: Error, job: PreparationJob) -> String {
        (error as? FileError)?.description ?? "\(job.primary.url.path): \(ErrorDescription.line(error))"
    }
}
