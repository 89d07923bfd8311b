import Foundation
import Testing
import TimbreCore
@testable import TimbreTraining
import TimbreTestSupport

@Suite struct SourceStyleMixingTests {
    /// Mean and population standard deviation of one band of a [bands × frames] clip.
    private func statistics(_ clip: [Float], band: Int, frames: Int) -> (mean: Double, deviation: Double) {
        let row = clip[(band * frames)..<((band + 1) * frames)].map(Double.init)
        let mean = row.reduce(0, +) / Double(frames)
        return (mean, (row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(frames)).squareRoot())
    }

    private func blended(_ clip: [Float], donor: [Float], share: Float, bands: Int, frames: Int) -> [Float] {
        var out = clip
        out.withUnsafeMutableBufferPointer { target in
            donor.withUnsafeBufferPointer { BandStatistics.blend(target, donor: $0, ownShare: share, bands: bands, frames: frames) }
        }
        return out
    }

    @Test func eachBandTakesTheBlendOfBothMeansAndSpreads() {
        let bands = 4, frames = 6
        var rng = SeededGenerator(seed: 3)
        let clip = (0..<(bands * frames)).map { i in Float(-40 + 10 * (i / frames)) + Float(rng.uniform(-5, 5)) }
        let donor = (0..<(bands * frames)).map { i in Float(-70 + 3 * (i / frames)) + Float(rng.uniform(-12, 12)) }
        let share: Float = 0.3
        let out = blended(clip, donor: donor, share: share, bands: bands, frames: frames)
        // The donor is first moved to the clip's overall level: only the colouring changes.
        let levelShift = (clip.map(Double.init).reduce(0, +) - donor.map(Double.init).reduce(0, +)) / Double(bands * frames)
        #expect(abs(out.map(Double.init).reduce(0, +) - clip.map(Double.init).reduce(0, +)) / Double(bands * frames) < 1e-4)
        for band in 0..<bands {
            let own = statistics(clip, band: band, frames: frames), other = statistics(donor, band: band, frames: frames)
            let result = statistics(out, band: band, frames: frames)
            #expect(abs(result.mean - (0.3 * own.mean + 0.7 * (other.mean + levelShift))) < 1e-4)
            #expect(abs(result.deviation - (0.3 * own.deviation + 0.7 * other.deviation)) < 1e-4)
            // The shape in time is the clip's own: the order of its frames is kept.
            let row = Array(clip[(band * frames)..<((band + 1) * frames)]), moved = Array(out[(band * frames)..<((band + 1) * frames)])
            #expect(row.indices.sorted { row[$0] < row[$1] } == moved.indices.sorted { moved[$0] < moved[$1] })
        }
        #expect(blended(clip, donor: donor, share: 1, bands: bands, frames: frames).elementsEqual(clip) { abs($0 - $1) < 1e-4 })
        // A band that never varies (or hardly: under 0.1 dB) takes the blended mean.
        var flat = [Float](repeating: -80, count: bands * frames)
        flat[0] = -80.05
        let flatLevel = flat.map(Double.init).reduce(0, +) / Double(bands * frames)
        let donorLevel = donor.map(Double.init).reduce(0, +) / Double(bands * frames)
        let filled = blended(flat, donor: donor, share: 0.5, bands: bands, frames: frames)
        for band in 0..<bands {
            let ownMean = statistics(flat, band: band, frames: frames).mean
            let expected = 0.5 * ownMean + 0.5 * (statistics(donor, band: band, frames: frames).mean + flatLevel - donorLevel)
            #expect(filled[(band * frames)..<((band + 1) * frames)].allSatisfy { abs(Double($0) - expected) < 1e-4 })
        }
    }

    @Test func betaDrawsHaveTheirDistributionsMoments() {
        var rng = SeededGenerator(seed: 11)
        for (a, b) in [(0.3, 0.3), (2.0, 5.0), (1.0, 1.0)] {
            let draws = (0..<40_000).map { _ in rng.beta(a, b) }
            #expect(draws.allSatisfy { (0...1).contains($0) })
            let mean = draws.reduce(0, +) / Double(draws.count)
            let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(draws.count)
            #expect(abs(mean - a / (a + b)) < 0.006, "Beta(\(a), \(b)) mean \(mean)")
            #expect(abs(variance - a * b / ((a + b) * (a + b) * (a + b + 1))) < 0.004, "Beta(\(a), \(b)) variance \(variance)")
        }
    }

    @Test func donorsPlayTheSameClassInAnotherSource() {
        // Clips 0..<60: class = i % 3; file = i / 20 (three sources); class 2 only in file 0.
        let labels: [Int32] = (0..<60).map { (i: Int) -> Int32 in
            let inFirstFile = i < 20
            return !inFirstFile && i % 3 == 2 ? 0 : Int32(i % 3)
        }
        let fileIndex = (0..<60).map { $0 / 20 }
        let pool = (0..<60).map { (index: $0, label: Int(labels[$0])) }
        let picker = StyleDonorPicker(recipe: SourceStyleMixing(probability: 0.5), pool: pool, classCount: 3, labels: labels, fileIndex: fileIndex)
        var rng = SeededGenerator(seed: 4)
        var restyled = 0, components = 0
        for clip in 0..<60 {
            for _ in 0..<20 {
                var example = Example(components: [.init(clip: clip, gainDB: 0), .init(clip: (clip + 1) % 60, gainDB: -3)])
                picker.assignDonors(to: &example, rng: &rng)
                for component in example.components {
                    components += 1
                    guard let style = component.style else { continue }
                    restyled += 1
                    #expect(labels[style.clip] == labels[component.clip])
                    #expect(fileIndex[style.clip] != fileIndex[component.clip])
                    #expect(labels[component.clip] != 2, "no other source plays class 2")
                    #expect((0...1).contains(style.ownShare))
                }
            }
        }
        // Half the components are drawn; those of class 2 (one source) get no donor.
        let eligible = Double(components) * Double(labels.filter { $0 != 2 }.count) / 60
        #expect(abs(Double(restyled) / eligible - 0.5) < 0.03, "\(restyled) of \(eligible)")
        #expect(picker.hasDonors)
        let alone = StyleDonorPicker(recipe: SourceStyleMixing(), pool: pool, classCount: 3, labels: labels, fileIndex: [Int](repeating: 0, count: 60))
        #expect(!alone.hasDonors)
    }

    @Test func aRestyledExampleIsTheBlendOfItsClipAndItsDonor() throws {
        let folder = scratchFolder("style-mixing")
        let first = try syntheticFeatureFile(clips: 12, seed: 21, in: folder, name: "a.h5")
        let second = try syntheticFeatureFile(clips: 12, seed: 22, in: folder, name: "b.h5")
        let clips = try ClipLibrary(urls: [first, second])
        let settings = clips.metadata.settings
        let reader = BatchReader(clips: clips)
        let donor = StyleDonor(clip: 14, ownShare: 0.25)
        let plain = try reader.batch([.solo(2)]).input.data
        let restyled = try reader.batch([Example(components: [.init(clip: 2, gainDB: 0, style: donor)])]).input.data
        let expected = blended(try clips.mel(2), donor: try clips.mel(14), share: 0.25, bands: settings.nMels, frames: settings.framesPerClip)
        #expect(plain.elementsEqual(try clips.mel(2)))
        #expect(restyled.elementsEqual(expected) { abs($0 - $1) < 1e-5 })
        #expect(!restyled.elementsEqual(plain) { abs($0 - $1) < 1e-3 })
    }

    /// A run with style mixing over two feature files is reproducible: interrupted and
    /// resumed, it ends with the uninterrupted run's weights; and the restyling changes them.
    @Test func trainingWithStyleMixingResumesExactly() throws {
        let folder = scratchFolder("style-mixing")
        let files = [try syntheticFeatureFile(clips: 36, seed: 31, in: folder, name: "a.h5"),
                     try syntheticFeatureFile(clips: 36, seed: 32, in: folder, name: "b.h5")]
        var options = smallOptions(epochs: 3)
        options.mixing.fraction = 0.5
        options.styleMixing = SourceStyleMixing(probability: 0.8)
        let straight = folder.appendingPathComponent("straight.h5")
        _ = try Trainer(features: files, output: straight, options: options).run(resume: false)
        let resumed = folder.appendingPathComponent("resumed.h5")
        let first = Trainer(features: files, output: resumed, options: options)
        let partial = try first.run(resume: false, epochDone: { record, _ in if record.epoch == 1 { first.cancel() } })
        #expect(partial.interrupted && partial.history.count == 1)
        let rest = try Trainer(features: files, output: resumed, options: options).run(resume: true)
        #expect(rest.history.count == 3)
        #expect(try ModelFile.read(from: straight).weights == ModelFile.read(from: resumed).weights)
        var plain = options
        plain.styleMixing = nil
        let unstyled = folder.appendingPathComponent("unstyled.h5")
        _ = try Trainer(features: files, output: unstyled, options: plain).run(resume: false)
        #expect(try ModelFile.read(from: straight).weights != ModelFile.read(from: unstyled).weights)
    }
}
