import Foundation
import TimbreDatasets
import TimbreStore
import TimbreCore

/// Appends finished jobs to the feature file strictly in job order, whatever order the
/// workers finish in, so the file (clip order, group ids) is the same on every run.
///
/// Results wait in memory until their turn; beyond a small window they are dropped and
/// read back from the resume journal instead, so memory stays bounded.
final class OrderedFeatureWriter {
    private static let memoryWindow = 64
    private let writer: FeatureFileWriter
    private let jobs: [PreparationJob]
    private let keys: [String]
    private let journal: ResumeJournal
    /// Finished jobs not yet written; nil means "read it from the resume journal".
    private var waiting: [Int: JobResult?] = [:]
    private var failures = Set<Int>()
    private var next = 0
    private var groupIDs: [String: Int32] = [:]
    private(set) var audioSeconds = 0.0

    init(destination: URL, metadata: FeatureFileMetadata, jobs: [PreparationJob], keys: [String], journal: ResumeJournal) throws {
        writer = try FeatureFileWriter(destination: destination, metadata: metadata)
        self.jobs = jobs
        self.keys = keys
        self.journal = journal
    }

    /// Job `index` is done; `result` nil means its result is in the resume journal.
    func finished(_ index: Int, result: JobResult?) {
        let keep = result != nil && waiting.count < Self.memoryWindow
        waiting[index] = keep ? result : .some(nil)
    }

    func failed(_ index: Int) { failures.insert(index) }

    /// Writes every job whose predecessors are all written or failed.
    func writeReady() throws {
        while next < jobs.count {
            if failures.contains(next) { next += 1; continue }
            guard let entry = waiting.removeValue(forKey: next) else { return }
            guard let result = entry ?? journal.load(keys[next]) else {
                throw FileError(path: journal.url.path, reason: "resume record for \(jobs[next].primary.relativePath) is missing or damaged; run again to recompute it")
            }
            let job = jobs[next]
            let group = groupIDs[job.group] ?? Int32(groupIDs.count)
            groupIDs[job.group] = group
            audioSeconds += result.seconds
            for var clip in result.clips {
                clip.group = group
                try writer.append(clip)
            }
            next += 1
        }
    }

    func commit() throws {
        precondition(next == jobs.count, "commit before every job was written")
        try writer.commit()
    }

    func abandon() { writer.abandon() }
}
