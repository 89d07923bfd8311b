import TimbreCore
import Foundation
import TimbreNN
import TimbreStore

/// Which clips of a feature file train and which validate, split by recording (`/group`)
/// so that clips of one recording never sit on both sides.
public struct DataSplit: Equatable, Sendable {
    public var training: [Int]
    public var validation: [Int]

    /// Puts about `fraction` of each class's recordings into validation, chosen by `seed`.
    /// A recording belongs to the class of its first single-label clip; clips without a
    /// single label (multi-label mixes) follow their recording.
    public static func byGroup(labels: [Int32], groups: [Int32], fraction: Double, seed: UInt64) -> DataSplit {
        guard fraction > 0 else { return DataSplit(training: Array(labels.indices), validation: []) }
        var classOfGroup: [Int32: Int32] = [:]
        for (label, group) in zip(labels, groups) where label >= 0 && classOfGroup[group] == nil { classOfGroup[group] = label }
        var groupsOfClass: [Int32: [Int32]] = [:]
        for group in Set(groups).sorted() { groupsOfClass[classOfGroup[group] ?? -1, default: []].append(group) }
        var generator = SeededGenerator(seed: seed)
        var validationGroups = Set<Int32>()
        for label in groupsOfClass.keys.sorted() {
            var members = groupsOfClass[label]!
            members.shuffle(using: &generator)
            let take = members.count > 1 ? max(1, Int((Double(members.count) * fraction).rounded())) : 0
            validationGroups.formUnion(members.prefix(min(take, members.count - 1)))
        }
        var split = DataSplit(training: [], validation: [])
        for (index, group) in groups.enumerated() {
            if validationGroups.contains(group) { split.validation.append(index) } else { split.training.append(index) }
        }
        return split
    }
}

/// The order in which one epoch visits the training clips: every class equally often
/// (smaller classes are revisited, in a fresh order each time, rather than larger ones
/// being cut), the same length as the training set, reproducible from seed and epoch.
public struct BalancedSampler: Sendable {
    public let clipsByClass: [[Int]]
    public let epochLength: Int

    /// - Parameter clips: (clip index, class) pairs of single-label training clips.
    public init(clips: [(index: Int, label: Int)], classCount: Int) {
        var byClass = [[Int]](repeating: [], count: classCount)
        for clip in clips { byClass[clip.label].append(clip.index) }
        clipsByClass = byClass.filter { !$0.isEmpty }
        epochLength = clips.count
    }

    public func order(epoch: Int, seed: UInt64) -> [Int] {
        guard !clipsByClass.isEmpty else { return [] }
        var generator = SeededGenerator(seed: seed, stream: UInt64(epoch) &+ 0x5EED)
        var queues = clipsByClass.map { $0.shuffled(using: &generator) }
        var positions = [Int](repeating: 0, count: queues.count)
        var order: [Int] = []
        order.reserveCapacity(epochLength)
        var cls = 0
        while order.count < epochLength {
            if positions[cls] == queues[cls].count {
                queues[cls].shuffle(using: &generator)
                positions[cls] = 0
            }
            order.append(queues[cls][positions[cls]])
            positions[cls] += 1
            cls = (cls + 1) % queues.count
        }
        order.shuffle(using: &generator)
        return order
    }
}

/// Reads batches of clips from feature files on demand: memory holds one batch, never
/// the data set.
public final class BatchReader {
    public let clips: ClipLibrary
    /// Clips found to hold NaN or infinite values: each is reported once through
    /// `reportSkipped` and replaced in its batch by another example of the same batch.
    public private(set) var nonFiniteClips = Set<Int>()
    public var reportSkipped: (String) -> Void = { _ in }
    public var inputShape: [Int] { [1, clips.metadata.settings.nMels, clips.metadata.settings.framesPerClip] }

    public init(clips: ClipLibrary) { self.clips = clips }

    public convenience init(reader: FeatureFileReader) { self.init(clips: ClipLibrary(reader: reader)) }

    /// The clips at `indices` as a [n, 1, mels, frames] tensor, with their single labels.
    /// A clip whose values are not all finite is reported once, added to
    /// `nonFiniteClips` and given zeros, so that the other clips' outputs stay finite.
    public func batch(_ indices: [Int]) throws -> (input: Tensor, labels: [Int]) {
        let size = clips.melSize
        var data = [Float](repeating: 0, count: indices.count * size)
        try data.withUnsafeMutableBufferPointer { buffer in
            for (slot, index) in indices.enumerated() {
                let values = UnsafeMutableBufferPointer(rebasing: buffer[slot * size..<(slot + 1) * size])
                try clips.readMel(index, into: values)
                guard !values.allSatisfy(\.isFinite) else { continue }
                values.update(repeating: 0)
                if nonFiniteClips.insert(index).inserted {
                    let (source, offset) = clips.provenance(of: index)
                    reportSkipped("\(source) at \(offset) s: the log-mel holds NaN or infinite values; clip skipped")
                }
            }
        }
        return (Tensor(shape: [indices.count] + inputShape, data: data), indices.map { Int(clips.label[$0]) })
    }

    /// `examples` as a [n, 1, mels, frames] tensor (components restyled by their donors,
    /// mixtures summed in the power domain, then shifted along the mel axis, equalised and
    /// masked when those are given, each item with its own draw from `seed` and `step`) and
    /// their [n, classes] multi-hot targets: every class of every component.
    public func batch(_ examples: [Example], masking: SpectrogramMasking? = nil, equalisation: RandomEqualisation? = nil,
                      bandShift: RandomBandShift? = nil, seed: UInt64 = 0, step: UInt64 = 0, firstSlot: Int = 0) throws -> (input: Tensor, targets: Tensor) {
        let size = clips.melSize, classes = clips.classCount
        let settings = clips.metadata.settings
        var data = [Float](repeating: 0, count: examples.count * size)
        var targets = [Float](repeating: 0, count: examples.count * classes)
        var parts = [Float](repeating: 0, count: size * (examples.map(\.components.count).max() ?? 1))
        var donorMel = [Float](repeating: 0, count: examples.contains { $0.components.contains { $0.style != nil } } ? size : 0)
        try data.withUnsafeMutableBufferPointer { buffer in
            try parts.withUnsafeMutableBufferPointer { scratch in
                try donorMel.withUnsafeMutableBufferPointer { donorScratch in
                    /// Reads a component's log-mel into `target`, restyled when it has a donor.
                    func read(_ component: Example.Component, into target: UnsafeMutableBufferPointer<Float>) throws {
                        try clips.readMel(component.clip, into: target)
                        guard let style = component.style else { return }
                        try clips.readMel(style.clip, into: donorScratch)
                        // A donor with NaN or infinite values is left unused: the clip stays as it is.
                        guard donorScratch.allSatisfy(\.isFinite) else { return }
                        BandStatistics.blend(target, donor: UnsafeBufferPointer(donorScratch), ownShare: style.ownShare,
                                             bands: settings.nMels, frames: settings.framesPerClip)
                    }
                    for (slot, example) in examples.enumerated() {
                        let out = UnsafeMutableBufferPointer(rebasing: buffer[slot * size..<(slot + 1) * size])
                        if example.isMix {
                            var views: [UnsafeBufferPointer<Float>] = []
                            for (k, component) in example.components.enumerated() {
                                let part = UnsafeMutableBufferPointer(rebasing: scratch[k * size..<(k + 1) * size])
                                try read(component, into: part)
                                views.append(UnsafeBufferPointer(part))
                            }
                            PowerMelMixer.mix(views, gainsDB: example.components.map(\.gainDB), topDB: Float(settings.topDB), into: out)
                        } else {
                            try read(example.components[0], into: out)
                        }
                        if let bandShift {
                            var rng = SeededGenerator(seed: seed ^ 0xBA4D_5417, stream: step << 16 | UInt64(firstSlot + slot))
                            bandShift.apply(to: out, bands: settings.nMels, frames: settings.framesPerClip, rng: &rng)
                        }
                        if let equalisation {
                            var rng = SeededGenerator(seed: seed ^ 0xE0A1_15ED, stream: step << 16 | UInt64(firstSlot + slot))
                            equalisation.apply(to: out, bands: settings.nMels, frames: settings.framesPerClip, rng: &rng)
                        }
                        if let masking {
                            var rng = SeededGenerator(seed: seed ^ 0x5BEC_A06E, stream: step << 16 | UInt64(firstSlot + slot))
                            masking.apply(to: out, bands: settings.nMels, frames: settings.framesPerClip, rng: &rng)
                        }
                        for component in example.components {
                            for c in clips.classIndices(of: component.clip) { targets[slot * classes + c] = 1 }
                        }
                    }
                }
            }
        }
        try replaceNonFinite(examples, data: &data, targets: &targets)
        return (Tensor(shape: [examples.count] + inputShape, data: data), Tensor(shape: [examples.count, classes], data: targets))
    }

    /// Fills each slot whose values are not all finite with a copy of a finite slot (input
    /// and targets), and reports its clips once; throws when no slot is finite.
    private func replaceNonFinite(_ examples: [Example], data: inout [Float], targets: inout [Float]) throws {
        let size = clips.melSize, classes = clips.classCount
        let finite = (0..<examples.count).map { slot in data[slot * size..<(slot + 1) * size].allSatisfy(\.isFinite) }
        guard finite.contains(false) else { return }
        for (slot, example) in examples.enumerated() where !finite[slot] {
            for component in example.components where nonFiniteClips.insert(component.clip).inserted {
                let (source, offset) = clips.provenance(of: component.clip)
                reportSkipped("\(source) at \(offset) s: the log-mel holds NaN or infinite values; clip skipped")
            }
        }
        guard let donor = finite.firstIndex(of: true) else {
            throw TrainingError("every clip of a batch holds NaN or infinite values; prepare the features again")
        }
        for slot in finite.indices where !finite[slot] {
            data.replaceSubrange(slot * size..<(slot + 1) * size, with: data[donor * size..<(donor + 1) * size])
            targets.replaceSubrange(slot * classes..<(slot + 1) * classes, with: targets[donor * classes..<(donor + 1) * classes])
        }
    }

    /// The logits of the clips at `indices`, predicted `batchSize` at a time with dropout
    /// off, and their single labels (−1 where a clip has none or several).
    public func logits(of model: Sequential, for indices: [Int], batchSize: Int) throws -> (logits: Tensor, labels: [Int]) {
        var values: [Float] = [], labels: [Int] = []
        for start in stride(from: 0, to: indices.count, by: batchSize) {
            let (input, batchLabels) = try batch(Array(indices[start..<min(indices.count, start + batchSize)]))
            values += model.forward(input, context: ForwardContext(training: false)).data
            labels += batchLabels
        }
        let classes = model.outputShape.reduce(1, *)
        return (Tensor(shape: [indices.count, classes], data: values), labels)
    }

    /// The logits of `examples`, predicted `batchSize` at a time with dropout off, and
    /// their multi-hot targets.
    public func logits(of model: Sequential, for examples: [Example], batchSize: Int) throws -> (logits: Tensor, targets: Tensor) {
        var values: [Float] = [], targets: [Float] = []
        for start in stride(from: 0, to: examples.count, by: batchSize) {
            let (input, batchTargets) = try batch(Array(examples[start..<min(examples.count, start + batchSize)]))
            values += model.forward(input, context: ForwardContext(training: false)).data
            targets += batchTargets.data
        }
        let classes = model.outputShape.reduce(1, *)
        return (Tensor(shape: [examples.count, classes], data: values), Tensor(shape: [examples.count, classes], data: targets))
    }
}
