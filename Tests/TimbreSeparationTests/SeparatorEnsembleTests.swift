import Foundation
import Testing
import TimbreCore
import TimbreNN
@testable import TimbreSeparation
import TimbreTestSupport
import TimbreTraining

/// Ensemble separators: their masks are the weighted mean of their members' masks, they
/// survive a write and a read, and files whose members do not fit are refused.
@Suite struct SeparatorEnsembleTests {
    /// A small Chandna network with random weights and its own input standardisation.
    func network(seed: UInt64, inputMean: Float, frames: Int = 16) throws -> SeparatorModel {
        var settings = SeparatorArchitecture.chandna.defaultSettings(stems: SeparationStem.allCases)
        settings.sampleRate = 8000
        settings.fftSize = 64
        settings.hopLength = 16
        settings.bins = 33
        settings.frames = frames
        settings.inputMean = [Float](repeating: inputMean, count: 33)
        settings.inputScale = [Float](repeating: 0.5, count: 33)
        let model = try SeparatorModel(settings: settings, spec: SeparatorArchitecture.chandna.spec(settings: settings))
        var generator = SeededGenerator(seed: seed)
        model.graph.initializeParameters(using: &generator)
        for i in 0..<model.store.count { model.store.values[i] *= 4 }
        return model
    }

    func chunks(_ count: Int, of model: SeparatorModel) -> [[Float]] {
        var generator = SeededGenerator(seed: 12)
        let size = model.settings.frames * model.settings.bins
        return (0..<count).map { _ in (0..<size).map { _ in Float(abs(generator.nextNormal())) * 0.2 } }
    }

    @Test func anEnsemblesMasksAreTheWeightedMeanOfItsMembersMasks() throws {
        let first = try network(seed: 1, inputMean: -3), second = try network(seed: 2, inputMean: -1)
        let ensemble = try SeparatorModel.ensemble([(first, 1), (second, 3)])
        #expect(ensemble.members.map(\.weight) == [0.25, 0.75])
        let input = chunks(3, of: first)
        let a = first.masks(forChunks: input, gain: 2), b = second.masks(forChunks: input, gain: 2)
        let mean = ensemble.masks(forChunks: input, gain: 2)
        let plane = first.settings.frames * first.settings.bins
        var largest: Float = 0, furthestFromOne: Float = 0, membersDiffer: Float = 0
        for c in input.indices {
            for i in 0..<(4 * plane) {
                largest = max(largest, abs(mean[c][i] - (0.25 * a[c][i] + 0.75 * b[c][i])))
                membersDiffer = max(membersDiffer, abs(a[c][i] - b[c][i]))
            }
            for i in 0..<plane { furthestFromOne = max(furthestFromOne, abs((0..<4).reduce(Float(0)) { $0 + mean[c][$1 * plane + i] } - 1)) }
        }
        #expect(largest < 1e-6)
        #expect(furthestFromOne < 1e-5)
        // Otherwise the test could not tell the members apart.
        #expect(membersDiffer > 0.1)
    }

    @Test func anEnsembleFileReadsBackWithTheSameMasks() throws {
        let folder = scratchFolder("ensemble")
        defer { try? FileManager.default.removeItem(at: folder) }
        let ensemble = try SeparatorModel.ensemble([(try network(seed: 1, inputMean: -3), 1), (try network(seed: 2, inputMean: -1), 1)])
        let url = folder.appendingPathComponent("ensemble.h5")
        try ensemble.write(to: url)
        let read = try SeparatorModel.read(from: url)
        #expect(read.members == ensemble.members)
        #expect(read.settings.architecture == "ensemble")
        let input = chunks(2, of: ensemble)
        #expect(read.masks(forChunks: input) == ensemble.masks(forChunks: input))
    }

    @Test func membersThatDoNotFitAreRefused() throws {
        let first = try network(seed: 1, inputMean: -3)
        #expect(throws: FileError.self) { try SeparatorModel.ensemble([(first, 1), (try network(seed: 2, inputMean: -3, frames: 32), 1)]) }
        let floor = try SeparatorModel.floor(settings: {
            var s = first.settings
            s.architecture = "floor"
            s.fixedMasks = [[Float]](repeating: [Float](repeating: 0.25, count: 33), count: 4)
            return s
        }())
        #expect(throws: FileError.self) { try SeparatorModel.ensemble([(first, 1), (floor, 1)]) }
        let pair = try SeparatorModel.ensemble([(first, 1), (try network(seed: 2, inputMean: -1), 1)])
        #expect(throws: FileError.self) { try SeparatorModel.ensemble([(first, 1), (pair, 1)]) }
    }

    /// A damaged or hostile file's member list is a one-line error, never a crash.
    @Test(arguments: [
        ("weight", "an ensemble member's weight is not in (0, 1]"),
        ("frames", "member2 hears another STFT, chunk or stems than the ensemble"),
        ("name", "ensemble members have empty, nested or repeated names"),
        ("none", "an ensemble without members"),
    ])
    func aFileWhoseMembersDoNotFitIsAOneLineError(change: String, reason: String) throws {
        let folder = scratchFolder("ensemble-damaged")
        defer { try? FileManager.default.removeItem(at: folder) }
        let ensemble = try SeparatorModel.ensemble([(try network(seed: 1, inputMean: -3), 1), (try network(seed: 2, inputMean: -1), 1)])
        var file = ensemble.file()
        var info = try JSONSerialization.jsonObject(with: Data(file.modelInfo.utf8)) as! [String: Any]
        var members = info["members"] as! [[String: Any]]
        switch change {
        case "weight": members[0]["weight"] = -1
        case "frames":
            var settings = members[1]["settings"] as! [String: Any]
            settings["frames"] = 32
            members[1]["settings"] = settings
        case "name": members[1]["name"] = "member1"
        default: members = []
        }
        info["members"] = change == "none" ? nil : members
        file.modelInfo = String(decoding: try JSONSerialization.data(withJSONObject: info), as: UTF8.self)
        let url = folder.appendingPathComponent("damaged.h5")
        try file.write(to: url)
        #expect(throws: FileError.self) { try SeparatorModel.read(from: url) }
        do { _ = try SeparatorModel.read(from: url) } catch let error as FileError {
            #expect(error.reason.hasSuffix(reason))
            #expect(error.path == url.path)
        }
    }
}
