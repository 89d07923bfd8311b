/// One of N deterministic shards of a list of inputs, for running a job as an array of
/// processes (Slurm's `$SLURM_ARRAY_TASK_ID`, Kubernetes' `$JOB_COMPLETION_INDEX`).
///
/// An input belongs to shard `hash(key) mod N`, where the hash is 64-bit FNV-1a of the
/// key's UTF-8 bytes: the same on every machine and run, independent of which other
/// inputs exist, and every input lands in exactly one shard.
public struct Shard: Equatable, Sendable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public static let maxCount = 100_000

    /// Parses "K/N" with 0 ≤ K < N ≤ 100,000; nil otherwise.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]),
              count >= 1, count <= Self.maxCount, index >= 0, index < count else { return nil }
        self.index = index
        self.count = count
    }

    public var description: String { "\(index)/\(count)" }

    /// Whether the input known by `key` belongs to this shard.
    public func contains(_ key: String) -> Bool {
        Int(FNV1a.hash(key) % UInt64(count)) == index
    }
}
