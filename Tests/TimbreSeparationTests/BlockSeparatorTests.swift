import Foundation
import Testing
import TimbreAudio
import TimbreCore
import TimbreNN
@testable import TimbreSeparation
import TimbreTestSupport

/// Block-by-block separation: blocks give the same stems as one block, the stems add up
/// to the mix, and memory follows the block, not the file.
@Suite struct BlockSeparatorTests {
    /// Settings read from a model file bound a block's memory at any input rate: the
    /// spectrogram holds FFT size / hop values per sample, at most 8.
    @Test func aSeparatorWhoseWindowsOverlapTooMuchIsRefused() throws {
        var settings = try smallModel().settings
        #expect(settings.problem() == nil)
        settings.hopLength = 8
        #expect(settings.problem() == nil)
        settings.hopLength = 4
        #expect(settings.problem() == "STFT 64/4 overlaps more than 8 windows per sample")
    }

    /// A small Chandna network with random weights at 8 kHz: random but fixed masks.
    func smallModel() throws -> SeparatorModel {
        var settings = SeparatorArchitecture.chandna.defaultSettings(stems: SeparationStem.allCases)
        settings.sampleRate = 8000
        settings.fftSize = 64
        settings.hopLength = 16
        settings.bins = 33
        settings.frames = 16
        settings.inputMean = [Float](repeating: -3, count: 33)
        settings.inputScale = [Float](repeating: 0.5, count: 33)
        let model = try SeparatorModel(settings: settings, spec: SeparatorArchitecture.chandna.spec(settings: settings))
        var generator = SeededGenerator(seed: 9)
        model.graph.initializeParameters(using: &generator)
        // Larger weights than training starts from, so the masks swing from chunk to chunk
        // and a misplaced chunk shows in the stems.
        for i in 0..<model.store.count { model.store.values[i] *= 4 }
        return model
    }

    func writeMix(_ url: URL, seconds: Double, rate: Int, channels: Int) throws -> [[Float]] {
        var generator = SeededGenerator(seed: 4)
        let n = Int(seconds * Double(rate))
        var audio: [[Float]] = []
        for c in 0..<channels {
            var channel = [Float](repeating: 0, count: n)
            for i in 0..<n {
                let tone: Double = 0.3 * sin(Double(i) * 0.05 * Double(c + 1))
                channel[i] = Float(tone + 0.1 * generator.nextNormal())
            }
            audio.append(channel)
        }
        try MultichannelAudio(channels: audio, sampleRate: rate).write(to: url, format: .wavFloat)
        return audio
    }

    func separate(_ model: SeparatorModel, _ input: URL, blockSeconds: Double, into folder: URL, residual: Bool = false,
                  inputGain: BlockSeparator.InputGain = .matchTraining) throws -> [SeparationStem: MultichannelAudio] {
        let separator = BlockSeparator(model: model, blockSeconds: blockSeconds)
        separator.inputGain = inputGain
        var output = BlockSeparator.Output(folder: folder, stems: SeparationStem.allCases)
        output.format = .wavFloat
        output.residual = residual
        try separator.separate(input, into: output)
        var stems: [SeparationStem: MultichannelAudio] = [:]
        for stem in SeparationStem.allCases { stems[stem] = try MultichannelAudio(contentsOf: folder.appendingPathComponent("\(stem.rawValue).wav")) }
        return stems
    }

    @Test(arguments: [(8000, 1), (16000, 2)])
    func blocksMatchOneBlockAndStemsSumToTheMix(rate: Int, channels: Int) throws {
        let folder = scratchFolder("separation")
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("mix.wav")
        let mix = try writeMix(input, seconds: 2.3, rate: rate, channels: channels)
        let model = try smallModel()
        let whole = try separate(model, input, blockSeconds: 100, into: folder.appendingPathComponent("whole"))
        let blocked = try separate(model, input, blockSeconds: 0.5, into: folder.appendingPathComponent("blocked"), residual: true)
        var largestDifference: Float = 0, largestSumError: Float = 0, spread: Float = 0
        for c in 0..<channels {
            for i in 0..<mix[c].count {
                var sum: Float = 0
                for stem in SeparationStem.allCases {
                    let a = whole[stem]!, b = blocked[stem]!
                    #expect(a.sampleRate == rate && a.channelCount == channels && a.frameCount == mix[c].count)
                    largestDifference = max(largestDifference, abs(a.channels[c][i] - b.channels[c][i]))
                    sum += a.channels[c][i]
                }
                largestSumError = max(largestSumError, abs(sum - mix[c][i]))
                spread = max(spread, abs(whole[.vocals]!.channels[c][i] - whole[.drums]!.channels[c][i]))
            }
        }
        #expect(largestDifference < 1e-5, "blocks differ from one block by \(largestDifference)")
        #expect(largestSumError < 1e-4, "stems miss the mix by \(largestSumError)")
        #expect(spread > 1e-3, "the masks differ between stems")
        // The residual is the mix minus the stem.
        let residual = try MultichannelAudio(contentsOf: folder.appendingPathComponent("blocked/no_vocals.wav"))
        for i in stride(from: 0, to: mix[0].count, by: 97) {
            #expect(abs(residual.channels[0][i] - (mix[0][i] - blocked[.vocals]!.channels[0][i])) < 1e-5)
        }
    }

    @Test func memoryFollowsTheBlockNotTheFile() throws {
        let folder = scratchFolder("separation")
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("long.wav")
        _ = try writeMix(input, seconds: 40, rate: 8000, channels: 1)
        let separator = BlockSeparator(model: try smallModel(), blockSeconds: 0.5)
        try separator.separate(input, into: BlockSeparator.Output(folder: folder.appendingPathComponent("out"), stems: [.vocals]))
        let settings = separator.model.settings
        // The block, the chunks' context on both sides, and one frame.
        let bound = (separator.blockFrames + 2 * settings.frames) * settings.hopLength + settings.fftSize
        #expect(separator.peakBufferedFrames <= bound, "buffered \(separator.peakBufferedFrames) frames, bound \(bound)")
        #expect(separator.peakBufferedFrames < 40 * 8000 / 20)
    }

    @Test func silenceAndDamagedFilesAreClearErrors() throws {
        let folder = scratchFolder("separation")
        defer { try? FileManager.default.removeItem(at: folder) }
        let damaged = folder.appendingPathComponent("damaged.wav")
        try Data("RIFF....WAVEjunk".utf8).write(to: damaged)
        let separator = BlockSeparator(model: try smallModel())
        #expect(throws: FileError.self) { try separator.separate(damaged, into: BlockSeparator.Output(folder: folder.appendingPathComponent("out"), stems: [.vocals])) }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out/vocals.wav").path))
    }

    /// A NaN and an infinite sample are separated as silence, and counted: the stems are
    /// exactly those of the file with both set to 0, where each would otherwise turn a block
    /// of every stem into NaN.
    @Test func nonFiniteSamplesAreSeparatedAsSilence() throws {
        let folder = scratchFolder("separation")
        defer { try? FileManager.default.removeItem(at: folder) }
        let clean = folder.appendingPathComponent("clean.wav"), damaged = folder.appendingPathComponent("damaged.wav")
        var mix = try writeMix(clean, seconds: 2, rate: 8000, channels: 2)
        (mix[0][3000], mix[1][9000]) = (0, 0)
        try MultichannelAudio(channels: mix, sampleRate: 8000).write(to: clean, format: .wavFloat)
        (mix[0][3000], mix[1][9000]) = (.nan, -.infinity)
        try MultichannelAudio(channels: mix, sampleRate: 8000).write(to: damaged, format: .wavFloat)
        let model = try smallModel()
        let separator = BlockSeparator(model: model, blockSeconds: 1)
        var output = BlockSeparator.Output(folder: folder.appendingPathComponent("damaged-stems"), stems: SeparationStem.allCases)
        output.format = .wavFloat
        try separator.separate(damaged, into: output)
        #expect(separator.lastSilencedSamples == 2)
        let expected = try separate(model, clean, blockSeconds: 1, into: folder.appendingPathComponent("clean-stems"))
        for stem in SeparationStem.allCases {
            let stems = try MultichannelAudio(contentsOf: output.folder.appendingPathComponent("\(stem.rawValue).wav"))
            #expect(stems == expected[stem], "\(stem.rawValue) differs from the clean file's")
        }
    }

    /// A recording 20 dB quieter gives the same stems 20 dB quieter: the network hears both
    /// at its training level. Heard as they are, the two get other masks.
    @Test func theStemsDoNotDependOnTheRecordingsLevel() throws {
        let folder = scratchFolder("separation")
        defer { try? FileManager.default.removeItem(at: folder) }
        let loud = folder.appendingPathComponent("loud.wav"), quiet = folder.appendingPathComponent("quiet.wav")
        let mix = try writeMix(loud, seconds: 2, rate: 8000, channels: 1)
        try MultichannelAudio(channels: [mix[0].map { $0 / 10 }], sampleRate: 8000).write(to: quiet, format: .wavFloat)
        let model = try smallModel()
        func largestMismatch(_ gain: BlockSeparator.InputGain) throws -> Float {
            let a = try separate(model, loud, blockSeconds: 1, into: folder.appendingPathComponent("loud-\(gain)"), inputGain: gain)
            let b = try separate(model, quiet, blockSeconds: 1, into: folder.appendingPathComponent("quiet-\(gain)"), inputGain: gain)
            var largest: Float = 0
            for stem in SeparationStem.allCases {
                for (x, y) in zip(a[stem]!.channels[0], b[stem]!.channels[0]) { largest = max(largest, abs(x - 10 * y)) }
            }
            return largest
        }
        let matched = try largestMismatch(.matchTraining), asItIs = try largestMismatch(.decibels(0))
        #expect(matched < 0.01, "matched stems differ by \(matched)")
        #expect(asItIs > 0.05, "stems heard as they are differ by only \(asItIs)")
    }

    /// The gain measured is the one that brings the file's mean network input, over all its
    /// frames and bins, to the training mixtures' mean (−3 for the small model).
    @Test func theMeasuredGainMatchesTheTrainingMean() throws {
        let folder = scratchFolder("separation")
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("mix.wav")
        let mix = try writeMix(input, seconds: 2, rate: 8000, channels: 1)[0]
        let separator = BlockSeparator(model: try smallModel(), blockSeconds: 0.5)
        try separator.separate(input, into: BlockSeparator.Output(folder: folder.appendingPathComponent("out"), stems: [.vocals]))
        let frames = SpectralFrames(fftSize: 64, hopLength: 16)
        var real: [Float] = [], imaginary: [Float] = []
        mix.withUnsafeBufferPointer { frames.analyse($0, origin: 0, length: mix.count, frames: 0..<(1 + mix.count / 16), real: &real, imaginary: &imaginary) }
        let gain = pow(10, separator.lastInputGainDecibels / 20)
        let meanInput = frames.magnitudes(real: real, imaginary: imaginary).reduce(0.0) { $0 + log(Double(SpectralFrames.floor) + gain * Double($1)) } / Double(real.count)
        #expect(abs(meanInput + 3) < 0.01, "mean input \(meanInput) at \(separator.lastInputGainDecibels) dB")
        #expect(abs(separator.lastInputGainDecibels) > 1, "the file needs a gain to reach the training level")
        separator.inputGain = .decibels(-6)
        try separator.separate(input, into: BlockSeparator.Output(folder: folder.appendingPathComponent("fixed"), stems: [.vocals]))
        #expect(abs(separator.lastInputGainDecibels + 6) < 1e-5)
    }

    /// Lifting brings a recording quieter than the training mixtures to their level and
    /// leaves a louder one as it is.
    @Test func liftingRaisesQuietRecordingsOnly() throws {
        let folder = scratchFolder("separation")
        defer { try? FileManager.default.removeItem(at: folder) }
        let quiet = folder.appendingPathComponent("quiet.wav"), loud = folder.appendingPathComponent("loud.wav")
        let mix = try writeMix(quiet, seconds: 1, rate: 8000, channels: 1)
        try MultichannelAudio(channels: [mix[0].map { $0 * 10 }], sampleRate: 8000).write(to: loud, format: .wavFloat)
        let separator = BlockSeparator(model: try smallModel())
        func gain(_ file: URL, _ choice: BlockSeparator.InputGain) throws -> Double {
            separator.inputGain = choice
            try separator.separate(file, into: BlockSeparator.Output(folder: folder.appendingPathComponent("\(file.lastPathComponent)-\(choice)"), stems: [.vocals]))
            return separator.lastInputGainDecibels
        }
        let quietMatch = try gain(quiet, .matchTraining), loudMatch = try gain(loud, .matchTraining)
        #expect(quietMatch > 1 && loudMatch < -1, "matching gains \(quietMatch) and \(loudMatch) dB")
        #expect(abs(quietMatch - loudMatch - 20) < 0.1)
        #expect(abs(try gain(quiet, .liftToTraining) - quietMatch) < 1e-9)
        #expect(try gain(loud, .liftToTraining) == 0)
    }
}
