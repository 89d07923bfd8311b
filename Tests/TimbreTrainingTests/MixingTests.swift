import Foundation
import Testing
import TimbreCore
import TimbreDSP
import TimbreNN
import TimbreStore
@testable import TimbreTraining
import TimbreTestSupport

@Suite struct PowerMelMixerTests {
    private func mix(_ parts: [[Float]], gains: [Float], topDB: Float = 80) -> [Float] {
        var out = [Float](repeating: 0, count: parts[0].count)
        let views = parts.map { part in part.withUnsafeBufferPointer { UnsafeBufferPointer(start: UnsafeMutablePointer(mutating: $0.baseAddress!), count: $0.count) } }
        out.withUnsafeMutableBufferPointer { PowerMelMixer.mix(views, gainsDB: gains, topDB: topDB, into: $0) }
        return withExtendedLifetime(parts) { out }
    }

    @Test func equalPowersAddThreeDecibelsAndTheFloorFollowsThePeak() {
        let a: [Float] = [-20, -40, -60, -100]
        let doubled = mix([a, a], gains: [0, 0])
        for (value, original) in zip(doubled.prefix(3), a) { #expect(abs(value - (original + 3.0103)) < 1e-3) }
        // Gains shift in dB; the result is floored topDB under its own peak.
        let shifted = mix([a, [-100, -100, -100, -100]], gains: [10, 0], topDB: 50)
        #expect(abs(shifted[0] - (-10)) < 1e-3)
        #expect(abs(shifted[1] - (-30)) < 1e-3)
        #expect(abs(shifted[2] - (-50)) < 1e-3)
        #expect(shifted[3] == -60)
    }

    @Test func mixingLogMelsApproximatesTheLogMelOfTheSummedAudio() {
        // Two tones an octave and a half apart, then their sum: where either tone has
        // energy, the power-domain mixture matches the mixture's own log-mel closely
        // (pure tones are the hardest case: their leakage adds coherently).
        let settings = FeatureSettings()
        let extractor = LogMelExtractor(settings: settings)
        let n = settings.clipSamples
        let low = (0..<n).map { Float(0.3 * sin(2 * Double.pi * 440 * Double($0) / 22_050)) }
        let high = (0..<n).map { Float(0.1 * sin(2 * Double.pi * 1_250 * Double($0) / 22_050)) }
        let sum = zip(low, high).map { $0 + $1 }
        let expected = extractor.logMel(sum)
        let mixed = mix([extractor.logMel(low), extractor.logMel(high)], gains: [0, 0])
        let peak = expected.max()!
        var compared = 0, total: Float = 0
        for (value, reference) in zip(mixed, expected) where reference > peak - 30 {
            #expect(abs(value - reference) < 1, "\(value) vs \(reference)")
            compared += 1
            total += abs(value - reference)
        }
        #expect(compared > 200)
        #expect(total / Float(compared) < 0.1)
    }
}

@Suite struct MixPlannerTests {
    let pool = (0..<40).map { (index: $0, label: $0 % 4) }
    let rms: [Float] = (0..<40).map { -30 + Float($0 % 7) }

    @Test func mixturesJoinDistinctClassesAtLevelsWithinTheSpread() {
        var recipe = MixRecipe()
        recipe.fraction = 1
        recipe.maxComponents = 3
        recipe.levelSpreadDB = 10
        let planner = MixPlanner(recipe: recipe, pool: pool, classCount: 4, rmsDB: rms)
        var rng = SeededGenerator(seed: 1)
        var sizes = Set<Int>()
        for clip in 0..<40 {
            let example = planner.example(around: clip, label: clip % 4, rng: &rng)
            #expect(example.components[0].clip == clip)
            #expect((2...3).contains(example.components.count))
            sizes.insert(example.components.count)
            #expect(Set(example.components.map { $0.clip % 4 }).count == example.components.count, "one clip per class")
            for component in example.components {
                let level = component.gainDB + rms[component.clip]
                #expect(level >= -10 && level <= 0)
            }
        }
        #expect(sizes == [2, 3])
    }

    @Test func theFractionDecidesHowManyExamplesAreMixtures() {
        var recipe = MixRecipe()
        recipe.fraction = 0.25
        let planner = MixPlanner(recipe: recipe, pool: pool, classCount: 4, rmsDB: rms)
        var rng = SeededGenerator(seed: 2)
        let mixtures = (0..<2000).filter { planner.example(around: $0 % 40, label: $0 % 4, rng: &rng).isMix }.count
        #expect(abs(Double(mixtures) / 2000 - 0.25) < 0.03)
        let none = MixPlanner(recipe: MixRecipe(), pool: pool, classCount: 4, rmsDB: rms)
        #expect(none.example(around: 5, label: 1, rng: &rng) == .solo(5))
        #expect(planner.fixedMixtures(count: 10, seed: 3) == planner.fixedMixtures(count: 10, seed: 3))
        #expect(planner.fixedMixtures(count: 10, seed: 3).allSatisfy { $0.isMix })
        let oneClass = MixPlanner(recipe: recipe, pool: pool.filter { $0.label == 2 }, classCount: 4, rmsDB: rms)
        #expect(oneClass.fixedMixtures(count: 10, seed: 3).isEmpty, "one instrument alone has no mixtures")
    }
}

@Suite struct SpectrogramMaskingTests {
    @Test func masksReplaceWholeBandsAndFramesByTheClipMean() {
        var clip = (0..<(16 * 20)).map { Float($0 % 13) }
        let mean = clip.reduce(0, +) / Float(clip.count)
        var masking = SpectrogramMasking()
        masking.frequencyMasks = 1
        masking.timeMasks = 1
        masking.maxBands = 4
        masking.maxFrames = 5
        var rng = SeededGenerator(seed: 4)
        let original = clip
        clip.withUnsafeMutableBufferPointer { masking.apply(to: $0, bands: 16, frames: 20, rng: &rng) }
        let changedBands = (0..<16).filter { band in (0..<20).allSatisfy { clip[band * 20 + $0] == mean } }
        let changedFrames = (0..<20).filter { frame in (0..<16).allSatisfy { clip[$0 * 20 + frame] == mean } }
        #expect(changedBands.count <= 4 && changedFrames.count <= 5)
        for band in 0..<16 {
            for frame in 0..<20 where !changedBands.contains(band) && !changedFrames.contains(frame) {
                #expect(clip[band * 20 + frame] == original[band * 20 + frame])
            }
        }
        #expect(changedBands.count + changedFrames.count > 0)
    }
}

@Suite struct PerClassThresholdTests {
    @Test func eachClassGetsTheThresholdThatMaximisesItsF1() {
        // Class 1 is present in clips 0 and 1 with probabilities 0.3 and 0.35, absent in
        // clip 2 with 0.2: 0.25 to 0.3 catches both without the false one. Class 2 is
        // never present: only the top-class rule can choose it, so any threshold above
        // its scores is as good, and the lowest such wins.
        let probabilities: [Float] = [
            0.6, 0.3, 0.1,
            0.5, 0.35, 0.15,
            0.7, 0.2, 0.1,
        ]
        let truth: [Set<Int>] = [[0, 1], [0, 1], [0]]
        let thresholds = ThresholdSearch.perClass(probabilities: probabilities, truth: truth, classes: 3)
        #expect(thresholds[1] == 0.25)
        #expect(thresholds[0] == 0.05)
        #expect(thresholds[2] == 0.5, "unseen class keeps the neutral threshold")
        #expect(ThresholdSearch.recordedPerClass(in: #"{"class_thresholds":[0.2,0.4]}"#) == [0.2, 0.4])
    }
}

@Suite(.serialized) struct MultiSourceTrainingTests {
    @Test func severalFeatureFilesReadAsOneCollection() throws {
        let folder = scratchFolder("training")
        let a = try syntheticFeatureFile(clips: 12, seed: 1, in: folder, name: "a.h5")
        let b = try syntheticFeatureFile(clips: 9, seed: 2, in: folder, name: "b.h5")
        let library = try ClipLibrary(urls: [a, b])
        #expect(library.count == 21)
        #expect(library.fileIndex[11] == 0 && library.fileIndex[12] == 1)
        // Both files number their recordings from 0; the collection keeps them apart.
        #expect(Set(library.groups[0..<12]).isDisjoint(with: library.groups[12...]))
        #expect(try library.mel(12) == FeatureFileReader(url: b).mel(at: 0))
        #expect(library.classIndices(of: 13) == [0])

        var settings = smallSettings()
        settings.nMels = 20
        let metadata = FeatureFileMetadata(classCodes: ["pia", "vio", "dru"], classNames: ["piano", "violin", "drums"], settings: settings, resampler: "test")
        let other = folder.appendingPathComponent("other.h5")
        let writer = try FeatureFileWriter(destination: other, metadata: metadata)
        try writer.commit()
        let error = #expect(throws: Error.self) { try ClipLibrary(urls: [a, other]) }
        #expect("\(error!)".contains("n_mels 20"))
    }

    /// A held-out file of one instrument (a cross-source fold of drum kits or singers)
    /// validates on its own clips once each, so the epoch's top-1 is the model's on them.
    @Test func aValidationFileOfOneClassScoresEachClipOnce() throws {
        let folder = scratchFolder("training")
        let training = try syntheticFeatureFile(clips: 48, seed: 7, in: folder, name: "train.h5")
        let validation = try syntheticFeatureFile(classSets: Array(repeating: [1], count: 20), groups: Array(0..<20), seed: 8,
                                                  in: folder, name: "violins.h5")
        var options = smallOptions(epochs: 2)
        options.output = .sigmoid
        options.mixing.fraction = 0.25
        options.keepsLastEpoch = true
        let output = folder.appendingPathComponent("model.h5")
        let result = try Trainer(features: [training], output: output, validation: [validation], options: options).run(resume: false)
        #expect(result.validationClips == 20)

        let recall = try recallPerClass(of: ModelFile.read(from: output), on: validation)
        #expect(recall[0] == nil && recall[2] == nil)
        #expect(result.history.last?.validationAccuracy == recall[1])
        #expect(result.history.last?.validationRecall == recall)
    }

    /// Each epoch keeps the validation's recall of every class: here a class the training
    /// never plays is never named, while the two it plays are.
    @Test func eachEpochKeepsTheValidationsRecallOfEveryClass() throws {
        let folder = scratchFolder("training")
        let training = try syntheticFeatureFile(classSets: (0..<48).map { [($0 / 3) % 2] }, groups: (0..<48).map { $0 / 3 }, seed: 9,
                                                in: folder, name: "two.h5")
        let validation = try syntheticFeatureFile(clips: 24, seed: 10, in: folder, name: "three.h5")
        var options = smallOptions(epochs: 20)
        options.output = .sigmoid
        options.keepsLastEpoch = true
        let output = folder.appendingPathComponent("model.h5")
        let result = try Trainer(features: [training], output: output, validation: [validation], options: options).run(resume: false)
        let recall = try recallPerClass(of: ModelFile.read(from: output), on: validation)
        #expect(recall[2] == 0 && (recall[0] ?? 0) > 0.5 && (recall[1] ?? 0) > 0.5)
        #expect(result.history.last?.validationRecall == recall)
        #expect(result.history.count == 20 && result.history.allSatisfy { $0.validationRecall?.count == 3 })
    }

    /// Each class's share of its clips in `features` that `model` ranks first, nil for a
    /// class without clips.
    private func recallPerClass(of model: ModelFile, on features: URL) throws -> [Double?] {
        let clips = try ClipLibrary(urls: [features])
        let (logits, _) = try BatchReader(clips: clips).logits(of: try model.makeModel(), for: Array(0..<clips.count), batchSize: 16)
        // Ranked by the uncalibrated probabilities, as validation ranks them (ties included).
        let probabilities = model.architecture.output.probabilities(logits)
        let classes = clips.classCount
        var correct = [Int](repeating: 0, count: classes), counted = correct
        for item in 0..<clips.count {
            let truth = Int(clips.label[item])
            let row = probabilities.data[(item * classes)..<((item + 1) * classes)]
            counted[truth] += 1
            if row.indices.max(by: { row[$0] < row[$1] }) == item * classes + truth { correct[truth] += 1 }
        }
        return (0..<classes).map { counted[$0] == 0 ? nil : Double(correct[$0]) / Double(counted[$0]) }
    }

    @Test func aSigmoidModelTrainedOnMixturesNamesEveryClassOfAMixture() throws {
        let folder = scratchFolder("training")
        let training = try syntheticFeatureFile(clips: 144, seed: 5, in: folder, name: "train.h5")
        let validation = try syntheticFeatureFile(clips: 48, seed: 6, in: folder, name: "validation.h5")
        var options = smallOptions(epochs: 30)
        options.output = .sigmoid
        options.mixing.fraction = 0.5
        options.mixing.maxComponents = 3
        options.mixing.levelSpreadDB = 6
        let output = folder.appendingPathComponent("model.h5")
        let result = try Trainer(features: [training], output: output, validation: [validation], options: options).run(resume: false)
        #expect((result.history.last?.validationAccuracy ?? 0) >= 0.9)

        let model = try ModelFile.read(from: output)
        // Kept with every epoch: the validation's recall of each class, here the saved (best) epoch's.
        let recall = try recallPerClass(of: model, on: validation)
        #expect(recall.allSatisfy { $0 != nil })
        #expect(result.history.first { $0.epoch == result.bestEpoch }?.validationRecall == recall)
        #expect(model.architecture.output == .sigmoid)
        let (_, perClass) = model.decisionThresholds(override: nil)
        let thresholds = try #require(perClass)
        // Fresh mixtures of validation clips: every class in them named, none other.
        let clips = try ClipLibrary(urls: [validation])
        let planner = MixPlanner(recipe: options.mixing, pool: (0..<clips.count).map { ($0, Int(clips.label[$0])) }, classCount: 3,
                                 rmsDB: (0..<clips.count).map(clips.rmsDB(of:)))
        let mixtures = planner.fixedMixtures(count: 300, seed: 99)
        let (logits, targets) = try BatchReader(clips: clips).logits(of: try model.makeModel(), for: mixtures, batchSize: 16)
        // The thresholds apply to the probabilities the model reports (calibrated).
        let probabilities = model.architecture.probabilities(logits).data
        var exact = 0
        for item in 0..<mixtures.count {
            let chosen = (0..<3).filter { Double(probabilities[item * 3 + $0]) >= thresholds[$0] }
            let truth = (0..<3).filter { targets.data[item * 3 + $0] > 0 }
            if chosen == truth { exact += 1 }
        }
        // Naming all three classes every time would get about half of them right; the
        // model names 200–212 of 300 exactly, depending on the vector path's rounding
        // (enough mixtures that one flipped mixture cannot decide the test).
        #expect(exact >= 180, "\(exact) of \(mixtures.count) mixtures named exactly")
    }
}

@Suite struct RandomEqualisationTests {
    @Test func curvesAreSmoothBoundedAndTheSameInEveryFrame() {
        let equalisation = RandomEqualisation(maxDB: 6)
        var rng = SeededGenerator(seed: 8)
        var largest: Float = 0
        for _ in 0..<200 {
            let curve = equalisation.curve(bands: 128, rng: &rng)
            #expect(curve.allSatisfy { abs($0) <= 6 + 1e-4 })
            #expect(zip(curve, curve.dropFirst()).allSatisfy { abs($0 - $1) < 1.5 }, "smooth across bands")
            largest = max(largest, curve.map(abs).max()!)
        }
        #expect(largest > 5, "the whole range is used")
        var clip = [Float](repeating: -30, count: 8 * 5)
        var draw = SeededGenerator(seed: 9)
        clip.withUnsafeMutableBufferPointer { equalisation.apply(to: $0, bands: 8, frames: 5, rng: &draw) }
        for band in 0..<8 { #expect(Set(clip[(band * 5)..<(band * 5 + 5)]).count == 1) }
        var again = SeededGenerator(seed: 9)
        #expect(equalisation.curve(bands: 8, rng: &again).map { $0 - 30 } == stride(from: 0, to: 40, by: 5).map { clip[$0] })
    }
}

@Suite struct RandomBandShiftTests {
    @Test func movesWholeBandsAndRepeatsTheEdge() {
        let shift = RandomBandShift(maxBands: 3)
        let bands = 10, frames = 4
        let clip = (0..<(bands * frames)).map { Float($0 / frames) }
        var seen = Set<Int>()
        for seed in 0..<200 {
            var shifted = clip
            var rng = SeededGenerator(seed: UInt64(seed))
            shifted.withUnsafeMutableBufferPointer { shift.apply(to: $0, bands: bands, frames: frames, rng: &rng) }
            // Band b now holds band b - s, clamped to the edges: one offset for the whole clip.
            let offset = Int(shifted[5 * frames]) - 5
            seen.insert(offset)
            for band in 0..<bands {
                let expected = Float(min(bands - 1, max(0, band + offset)))
                #expect(shifted[(band * frames)..<((band + 1) * frames)].allSatisfy { $0 == expected })
            }
        }
        #expect(seen == Set(-3...3), "every shift within the range is drawn")
    }
}

@Suite struct ModelCalibrationTests {
    /// Moving thresholds to a new temperature keeps each decision: the same logit.
    @Test func thresholdsFollowTheTemperature() throws {
        let summary = #"{"class_thresholds":[0.5,0.8807970779778823],"threshold":0.25}"#
        let mapped = ModelCalibration.mappedThresholds(in: summary, from: 1, to: 2)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(mapped.utf8)) as? [String: Any])
        let perClass = try #require(object["class_thresholds"] as? [Double])
        #expect(abs(perClass[0] - 0.5) < 1e-9)
        // σ(2) at T = 1 is the logit 2, which is σ(1) at T = 2.
        #expect(abs(perClass[1] - 1 / (1 + exp(-1.0))) < 1e-6)
        // 0.25 is the logit −ln 3; at T = 2 that is σ(−ln 3 / 2) = 1 / (1 + √3).
        #expect(abs((object["threshold"] as? Double ?? 0) - 1 / (1 + 3.0.squareRoot())) < 1e-6)
    }
}

@Suite struct InputMixupTests {
    /// Every blended item is λ·x + (1 − λ)·x′ of itself and one other item, its targets the
    /// same blend (λ ≥ 0.5 read from its own class), partners taken before any blending; a
    /// chance of 0 changes nothing and the same seed and step blend the same way.
    @Test func blendedItemsAreConvexBlendsOfInputsAndTargets() {
        let n = 4, size = 6
        var generator = SeededGenerator(seed: 3)
        let input = Tensor(shape: [n, 1, 2, 3], data: (0..<(n * size)).map { _ in Float(generator.nextNormal()) * 10 })
        var oneHot = [Float](repeating: 0, count: n * n)
        for item in 0..<n { oneHot[item * n + item] = 1 }
        let targets = Tensor(shape: [n, n], data: oneHot)
        var blended = input, blendedTargets = targets
        InputMixup(probability: 1).apply(input: &blended, targets: &blendedTargets, seed: 5, step: 9, firstSlot: 0)
        var shares: [Float] = []
        for item in 0..<n {
            let row = Array(blendedTargets.data[(item * n)..<(item * n + n)])
            let share = row[item]
            let partners = row.indices.filter { $0 != item && row[$0] > 0 }
            #expect(share >= 0.5 && share < 1 && partners.count == 1, "row \(row)")
            guard let partner = partners.first else { continue }
            #expect(abs(row[partner] - (1 - share)) < 1e-6)
            for i in 0..<size {
                let expected = share * input.data[item * size + i] + (1 - share) * input.data[partner * size + i]
                #expect(abs(blended.data[item * size + i] - expected) < 1e-4)
            }
            shares.append(share)
        }
        #expect(Set(shares).count == n, "each item draws its own λ: \(shares)")
        var again = input, againTargets = targets
        InputMixup(probability: 1).apply(input: &again, targets: &againTargets, seed: 5, step: 9, firstSlot: 0)
        #expect(again == blended && againTargets == blendedTargets)
        var untouched = input, untouchedTargets = targets
        InputMixup(probability: 0).apply(input: &untouched, targets: &untouchedTargets, seed: 5, step: 9, firstSlot: 0)
        #expect(untouched == input && untouchedTargets == targets)
    }
}
