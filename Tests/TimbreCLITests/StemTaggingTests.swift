import Foundation
import Testing
import TimbreAudio
import TimbreModel
@testable import TimbreTagging
import TimbreTestSupport

/// The pieces `tag --separate` uses to keep what one stem hears of another from becoming a tag.
@Suite struct StemTaggingTests {
    /// A 1-s sine of amplitude 0.5 (mean square 0.125), then 1 s of silence, in stereo.
    @Test func windowLevelsAreTheMeanSquareOfEachSpan() throws {
        let url = scratchPath("levels").appendingPathExtension("wav")
        defer { try? FileManager.default.removeItem(at: url) }
        let rate = 22_050
        let mono = (0..<(2 * rate)).map { n in n < rate ? Float(0.5 * sin(2 * Double.pi * 441 * Double(n) / Double(rate))) : 0 }
        try AudioFileWriter.write(mono.flatMap { [$0, $0] }, channels: 2, sampleRate: rate, to: url, format: .wavFloat)
        let levels = try WindowLevels.decibels(of: url, spans: [(0, 1), (0.5, 1.5), (1, 2), (0, 3)])
        #expect(abs(levels[0] - 10 * log10(0.125)) < 0.01, "\(levels)")
        #expect(abs(levels[1] - 10 * log10(0.0625)) < 0.01, "\(levels)")
        #expect(levels[2] == -.infinity)
        #expect(abs(levels[3] - 10 * log10(0.0625)) < 0.01, "a span past the end counts the samples there are")
    }

    /// A stem tagger with the bundled model's classes: no forced top class, `threshold` for
    /// every class and `floor` under it.
    private func stemTagger(threshold: Double, floor: Double = 0) throws -> Tagger {
        let model = try BundledModel.load()
        var options = TagOptions()
        options.reportsTopClass = false
        options.threshold = threshold
        options.thresholdFloor = floor
        return Tagger(model: try model.makeModel(), settings: model.features.settings, classCodes: model.features.classCodes,
                      classNames: model.features.classNames, options: options)
    }

    /// A stem's tags as the tagger decides them from given window scores (3-s windows),
    /// each window's scores being `values` for the classes named and 0.01 for the rest.
    private func stemTags(_ tagger: Tagger, windows values: [[String: Double]]) -> (tags: FileTags, windows: [[Double]]) {
        let codes = tagger.classCodes
        let windows = values.map { named in codes.map { named[$0] ?? 0.01 } }
        let timeline = windows.enumerated().map { index, scores in
            WindowTags(start: Double(index) * 3, end: Double(index + 1) * 3, isSilent: false, tags: tagger.decide(scores), scores: scores)
        }
        let mean = codes.indices.map { c in windows.map { $0[c] }.reduce(0, +) / Double(windows.count) }
        let tags = FileTags(path: "stem", duration: 3 * Double(windows.count), windows: windows.count, isSilent: false, isPadded: false,
                            tags: tagger.decide(mean), timeline: timeline, scores: mean)
        return (tags, windows)
    }

    @Test func silencedWindowsLeaveTheFileTagsDecidedAgain() throws {
        let tagger = try stemTagger(threshold: 0.5)
        let voice = try #require(tagger.classCodes.firstIndex(of: "voi")), piano = try #require(tagger.classCodes.firstIndex(of: "pia"))
        let (tags, _) = stemTags(tagger, windows: [["voi": 0.9, "pia": 0.2], ["voi": 0.7, "pia": 0.6], ["voi": 0.1, "pia": 0.8]])
        #expect(tags.tags.map(\.code) == ["voi", "pia"], "voice 0.567, piano 0.533")

        let lastTwo = tagger.silencing(tags, windows: [0])
        #expect(lastTwo.timeline[0].isSilent && lastTwo.timeline[0].tags.isEmpty)
        #expect(abs(lastTwo.scores[voice] - 0.4) < 1e-12 && abs(lastTwo.scores[piano] - 0.7) < 1e-12)
        #expect(lastTwo.tags.map(\.code) == ["pia"], "voice falls under its threshold once its loudest window is silent")
        #expect(tagger.silencing(tags, windows: [0, 1, 2]).isSilent)
    }

    /// Under a floor of 0.5, a stem's own class is judged at its threshold (0.3 here) in
    /// every window and in the file; every other class still needs the floor.
    @Test func aStemsOwnClassIsExemptFromTheFloor() throws {
        let tagger = try stemTagger(threshold: 0.3, floor: 0.5)
        let (tags, windows) = stemTags(tagger, windows: [["bas": 0.4, "pia": 0.45], ["bas": 0.35, "pia": 0.6]])
        #expect(tags.timeline.map { $0.tags.map(\.code) } == [[], ["pia"]])
        #expect(tags.tags.map(\.code) == ["pia"], "piano 0.525, bass 0.375")

        let own = tagger.silencing(tags, windows: [], floorExempt: ["bas"])
        #expect(own.timeline.map { $0.tags.map(\.code) } == [["bas"], ["pia", "bas"]])
        #expect(own.tags.map(\.code) == ["pia", "bas"])
        #expect(own.timeline[1].scores == windows[1])
        let silenced = tagger.silencing(tags, windows: [1], floorExempt: ["bas"])
        #expect(silenced.timeline[1].isSilent)
        #expect(silenced.tags.map(\.code) == ["bas"], "piano 0.45 is under the floor once its loud window is silent")
    }
}
