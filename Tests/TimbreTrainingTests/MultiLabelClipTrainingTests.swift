import Foundation
import Testing
import TimbreCore
import TimbreNN
import TimbreStore
import TimbreTestSupport
@testable import TimbreTraining

/// A feature file of the synthetic spectrograms with the given class sets, one recording per clip.
private func featureFile(_ classSets: [[Int]], seed: UInt64, in folder: URL, name: String) throws -> URL {
    try syntheticFeatureFile(classSets: classSets, groups: Array(classSets.indices), seed: seed, in: folder, name: name)
}

@Suite(.serialized) struct MultiLabelClipTrainingTests {
    /// Violin is only ever heard with piano, in clips of two labels. Trained without them
    /// the model never learns violin; with `multiLabelClips` it names it in fresh
    /// piano-and-violin clips and leaves it out of piano alone.
    @Test func aClassHeardOnlyInMixesIsLearnedFromThem() throws {
        let folder = scratchFolder("training")
        let solo = (0..<60).map { [$0 % 2 == 0 ? 0 : 2] }
        let training = try featureFile(solo + Array(repeating: [0, 1], count: 30), seed: 3, in: folder, name: "train.h5")
        let test = try featureFile(Array(repeating: [0, 1], count: 20) + Array(repeating: [0], count: 20), seed: 4, in: folder, name: "test.h5")
        func violin(multiLabel: Bool) throws -> (withViolin: Float, pianoAlone: Float, clips: Int) {
            var options = smallOptions(epochs: 40)
            options.output = .sigmoid
            options.validationFraction = 0
            options.multiLabelClips = multiLabel
            let output = folder.appendingPathComponent("model-\(multiLabel).h5")
            let result = try Trainer(features: [training], output: output, options: options).run(resume: false)
            let model = try ModelFile.read(from: output)
            let clips = try ClipLibrary(urls: [test])
            let (logits, _) = try BatchReader(clips: clips).logits(of: try model.makeModel(), for: (0..<40).map(Example.solo), batchSize: 8)
            let p = model.architecture.probabilities(logits).data
            let mean = { (range: Range<Int>) in range.map { p[$0 * 3 + 1] }.reduce(0, +) / Float(range.count) }
            return (mean(0..<20), mean(20..<40), result.trainingClips)
        }
        let without = try violin(multiLabel: false), with = try violin(multiLabel: true)
        #expect(without.clips == 60 && with.clips == 90)
        #expect(without.withViolin < 0.2, "never a violin target: \(without)")
        #expect(with.withViolin > 0.6 && with.pianoAlone < 0.3, "\(with)")
    }

    /// The epoch's order gains each clip of several labels once; without any it is the
    /// sampler's order unchanged, so earlier recipes train as they did.
    @Test func theMultiLabelClipsAreShuffledInOncePerEpoch() {
        let order = Array(0..<20)
        #expect(Trainer.shuffledIn([], to: order, epoch: 3, seed: 1) == order)
        let mixed = Trainer.shuffledIn([100, 101, 102], to: order, epoch: 3, seed: 1)
        #expect(mixed.sorted() == order + [100, 101, 102])
        #expect(mixed != order + [100, 101, 102])
        #expect(Trainer.shuffledIn([100, 101, 102], to: order, epoch: 3, seed: 1) == mixed)
        #expect(Trainer.shuffledIn([100, 101, 102], to: order, epoch: 4, seed: 1) != mixed)
    }

    @Test func aSoftmaxModelRefusesClipsOfSeveralLabels() throws {
        let folder = scratchFolder("training")
        let training = try featureFile([[0], [2], [0, 1]], seed: 3, in: folder, name: "train.h5")
        var options = smallOptions(epochs: 1)
        options.multiLabelClips = true
        options.validationFraction = 0
        #expect(throws: TrainingError.self) {
            try Trainer(features: [training], output: folder.appendingPathComponent("m.h5"), options: options).run(resume: false)
        }
    }
}
