import Foundation
import Testing
import TimbreAudio
import TimbreCore
import TimbreDatasets
@testable import TimbreSynth
import TimbreTestSupport

/// A small corpus: two takes for three classes and one short song.
private func renderSmallCorpus(split: SynthSplit = .train, seed: UInt64 = 3) throws -> (SynthCorpus, URL) {
    var options = SynthOptions(output: scratchFolder("synth"), catalogue: try SoundCatalogue.standard())
    options.split = split
    options.seed = seed
    options.takesPerClass = 2
    options.excerpts = 2
    options.songs = 1
    options.songSeconds = 8
    options.classes = ["pia", "dru", "bas", "gac", "sax"]
    let corpus = try SynthCorpus(options: options)
    let summary = try corpus.run()
    #expect(summary.failures.isEmpty, "\(summary.failures)")
    return (corpus, options.output)
}

@Suite(.serialized) struct SynthCorpusTests {
    @Test func irmasLayoutReadsBackWithTheRightLabels() throws {
        let (corpus, root) = try renderSmallCorpus()
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(DatasetLayout.detect(corpus.irmasRoot) == .irmas)
        let imported = try DatasetImporter.importRoot(corpus.irmasRoot, layout: nil)
        #expect(imported.failures.isEmpty)
        #expect(imported.jobs.count == 5 * 2 * 2)
        var groups = Set<String>()
        for job in imported.jobs {
            guard case .single(let audio, let group) = job else { Issue.record("expected single-file jobs"); continue }
            let folder = audio.url.deletingLastPathComponent().lastPathComponent
            #expect(audio.classIndices == [Taxonomy.standard.index(of: folder)!])
            groups.insert(group)
            // Every excerpt is 3 s of 44.1-kHz stereo with sound in it.
            let info = try AudioFileReader(url: audio.url).info
            #expect(info.sampleRate == 44_100 && info.channels == 2 && info.frames == 3 * 44_100)
            let samples = try MonoAudioStream.load(audio.url).samples
            var energy = 0.0
            for sample in samples { energy += Double(sample) * Double(sample) }
            let level: Double = 10 * log10(energy / Double(samples.count))
            #expect(level > -45, "\(audio.relativePath) is nearly silent")
        }
        // Excerpts of one take share a group; takes do not.
        #expect(groups.count == 5 * 2)
    }

    @Test func medleyDBLayoutReadsBackAndTheMixIsTheSumOfItsStems() throws {
        let (corpus, root) = try renderSmallCorpus()
        defer { try? FileManager.default.removeItem(at: root) }
        let imported = try DatasetImporter.importRoot(corpus.medleyRoot, layout: nil)
        #expect(imported.layout == .medleydb)
        #expect(imported.failures.isEmpty && imported.notes.isEmpty, "\(imported.notes)")
        guard case .multitrack(let mix, let stems, _) = imported.jobs.first else { Issue.record("no song imported"); return }
        let plan = corpus.planner.song(index: 0, seconds: 8)
        #expect(stems.map(\.classIndices) == plan.parts.map { [Taxonomy.standard.index(of: $0.code)!] })
        #expect(stems.first?.classIndices == [Taxonomy.standard.index(of: "dru")!])
        #expect(Set(mix.classIndices) == Set(stems.flatMap(\.classIndices)))

        var sum = [Float]()
        for stem in stems {
            let samples = try AudioFileReader(url: stem.url).readAllInterleaved()
            if sum.isEmpty { sum = samples } else { for i in sum.indices { sum[i] += samples[i] } }
        }
        let stored = try AudioFileReader(url: mix.url).readAllInterleaved()
        #expect(stored.count == 2 * 8 * 44_100)
        #expect(stored == sum)
    }

    @Test func sameSeedSameCorpusAndRerunsResume() throws {
        let (first, rootA) = try renderSmallCorpus(seed: 9)
        let (_, rootB) = try renderSmallCorpus(seed: 9)
        defer { try? FileManager.default.removeItem(at: rootA); try? FileManager.default.removeItem(at: rootB) }
        let files = AudioFileFinder.allFiles(under: rootA).map { AudioFileFinder.relativePath(of: $0, to: rootA) }
        // Takes, the song's files, the manifest and the settings.
        #expect(files.count == 5 * 2 * 2 + 6 + 2)
        for file in files {
            #expect(FileManager.default.contents(atPath: rootA.appendingPathComponent(file).path) == FileManager.default.contents(atPath: rootB.appendingPathComponent(file).path), "\(file) differs")
        }
        // A removed file is rendered again; the rest is kept.
        let removed = rootA.appendingPathComponent(files.first { $0.hasSuffix("__2.wav") }!)
        let original = FileManager.default.contents(atPath: removed.path)
        try FileManager.default.removeItem(at: removed)
        let summary = try first.run()
        #expect(summary.rendered == 1 && summary.skipped == first.items.count - 1)
        #expect(FileManager.default.contents(atPath: removed.path) == original)

        // More songs add to the corpus; other settings are refused by name, and nothing is
        // rendered or recorded for them.
        var more = first.options
        more.songs = 2
        let added = try SynthCorpus(options: more).run()
        #expect(added.rendered == 1 && added.skipped == first.items.count)
        let settings = try String(contentsOf: first.settingsURL, encoding: .utf8)
        for (change, named) in [({ (o: inout SynthOptions) in o.seed = 10 }, "seed 10, not seed 9"),
                                ({ (o: inout SynthOptions) in o.families = ["fluidr3"] }, "families fluidr3, not families fluidr3,hydrogen"),
                                ({ (o: inout SynthOptions) in o.takesPerClass = 3 }, "takes-per-class 3, not takes-per-class 2")] {
            var other = first.options
            change(&other)
            #expect {
                try SynthCorpus(options: other).run()
            } throws: { error in
                (error as? FileError)?.path == rootA.path && (error as? FileError)?.reason.contains("other settings (\(named))") == true
            }
        }
        // Recordings played at other speeds are another corpus too.
        var repitched = first.options
        repitched.recordingRepitch = 4
        #expect {
            try SynthCorpus(options: repitched).run()
        } throws: { error in
            (error as? FileError)?.reason.contains("other settings (recording-repitch 4.0") == true
        }
        #expect(try String(contentsOf: first.settingsURL, encoding: .utf8) == settings)
        #expect(AudioFileFinder.allFiles(under: rootA).count == files.count + 6)
    }

    /// Drums and bass play throughout and other parts rest for phrases; in a short, slow song
    /// those rests once covered every bar, leaving a silent stem under an instrument's name
    /// (about one stem in fifty of 20-s songs). Each part now plays in some bar.
    @Test func everyPartOfASongPlaysSomewhere() throws {
        let classes = InstrumentSources.all.map(\.code)
        let catalogue = try SoundCatalogue.standard().selecting(families: SynthOptions.defaultFamilies, split: .train)
        let planner = CorpusPlanner(seed: 21, split: .train, augment: true, classes: classes, catalogue: catalogue)
        var resting = 0, parts = 0
        for index in 0..<400 {
            let plan = planner.song(index: index, seconds: 20)
            let bars = Int((20 / plan.context.secondsPerBar).rounded(.up))
            for (part, rests) in zip(plan.parts, plan.restingBars) {
                parts += 1
                #expect(Set(rests).count < bars, "song \(index), \(part.code): rests in all \(bars) bars")
                if !rests.isEmpty { resting += 1 }
                if ["dru", "bas"].contains(part.code) { #expect(rests.isEmpty) }
            }
        }
        // Most parts still rest somewhere.
        #expect(resting > parts / 4, "\(resting) of \(parts)")
    }

    @Test func heldOutSplitUsesOtherNumbersAndHeldOutSources() throws {
        let classes = InstrumentSources.all.map(\.code)
        let catalogue = try SoundCatalogue.standard()
        let train = CorpusPlanner(seed: 1, split: .train, augment: true, classes: classes,
                                  catalogue: catalogue.selecting(families: SynthOptions.defaultFamilies, split: .train))
        let heldOut = CorpusPlanner(seed: 1, split: .heldOut, augment: true, classes: classes,
                                    catalogue: catalogue.selecting(families: SynthOptions.defaultFamilies, split: .heldOut))
        var heldOutOnly = 0
        for index in 0..<40 {
            for code in ["pia", "dru"] {
                let a = train.take(code: code, index: index, takesPerClass: 40, excerpts: 3, excerptSeconds: 3)
                let b = heldOut.take(code: code, index: index, takesPerClass: 40, excerpts: 3, excerptSeconds: 3)
                #expect(a.number < 50_001 && b.number >= 50_001)
                #expect(!a.lead.patch.heldOutOnly && SynthOptions.defaultFamilies.contains(a.lead.patch.family))
                if b.lead.patch.heldOutOnly { heldOutOnly += 1 }
            }
        }
        #expect(heldOutOnly > 4)
    }

    @Test func theManifestNamesTheSourceThatPlayedEachFile() throws {
        var options = SynthOptions(output: scratchFolder("synth"), catalogue: try SoundCatalogue.standard())
        defer { try? FileManager.default.removeItem(at: options.output) }
        let family = options.addGeneralMIDIFamily(soundFont: URL(fileURLWithPath: "/usr/share/sounds/sf2/sf_GMbank.sf2"))
        options.families = [family]
        options.classes = ["pia", "cla"]
        options.takesPerClass = 1
        options.excerpts = 1
        options.songs = 0
        let corpus = try SynthCorpus(options: options)
        #expect(try corpus.run().failures.isEmpty)
        let manifest = try String(contentsOf: options.output.appendingPathComponent("synth-manifest.csv"), encoding: .utf8)
        let rows = manifest.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        #expect(rows.count == 2)
        for row in rows {
            #expect(row[3] == "sf_GMbank", "family column: \(row)")
            #expect(row[4].hasPrefix("sf_GMbank sf_GMbank.sf2 0:"), "source column: \(row)")
        }
    }

    @Test func everyInstalledPatchOfTheCatalogueSounds() throws {
        // The Debian families `make deps` installs; downloaded libraries are not needed by tests.
        let catalogue = try SoundCatalogue.standard()
        let taxonomy = Set(InstrumentSources.all.map(\.code))
        #expect(catalogue.patches.allSatisfy { taxonomy.contains($0.code) })
        #expect(Set(catalogue.families).isSuperset(of: ["fluidr3", "gmbank", "airfont", "hydrogen", "philharmonia", "mtg-sax", "muldjord"]))
        let system = catalogue.patches.filter { $0.location.hasPrefix("/") }
        #expect(catalogue.selecting(families: ["fluidr3", "gmbank", "airfont", "hydrogen"], split: .heldOut).missing(sources: URL(fileURLWithPath: "/")).isEmpty)
        var synths: [String: SoundFontSynth] = [:]
        for patch in system {
            switch patch.kind {
            case .sf2:
                let synth = try synths[patch.location] ?? SoundFontSynth(soundFont: URL(fileURLWithPath: patch.location))
                synths[patch.location] = synth
                #expect(synth.has(patch.soundFontPreset!), "\(patch): no such preset")
            case .hydrogen:
                let kit = try HydrogenDrumKit(folder: URL(fileURLWithPath: patch.location))
                let hits = kit.render([Note(start: 0, duration: 0.3, key: 36, velocity: 100), Note(start: 0.5, duration: 0.3, key: 38, velocity: 100)], seconds: 1)
                #expect(hits.rms > 1e-3, "\(patch) is silent")
            case .stk, .festival:
                break  // external programs: StkRendererTests and FestivalRendererTests play them
            default:
                Issue.record("\(patch): only SoundFonts, Hydrogen kits and external programs live at system paths")
            }
        }
    }
}

struct SoundFamilyTests {
    @Test func anUnknownOrMissingFamilyIsRefusedByName() throws {
        var options = SynthOptions(output: scratchPath("families"),
                                   catalogue: try SoundCatalogue.standard())
        options.families = ["fluidr3", "no-such-family"]
        let unknown = #expect(throws: FileError.self) { try SynthCorpus(options: options) }
        #expect(unknown?.path == "no-such-family" && unknown?.reason.contains("no such sound family") == true)
        // A downloaded library absent from the sources folder: an error, not a smaller corpus.
        options.families = ["fluidr3", "mtg-sax"]
        options.sources = URL(fileURLWithPath: "/nonexistent-sources")
        let missing = #expect(throws: FileError.self) { try SynthCorpus(options: options) }
        #expect(missing?.reason.contains("mtg-sax is not installed") == true, "\(String(describing: missing))")
        #expect(missing?.path.hasPrefix("/nonexistent-sources/MTG.SoloSax/") == true)
    }

    @Test func familiesThatPlayOneClassRenderOnlyThatClass() throws {
        var options = SynthOptions(output: scratchPath("families"),
                                   catalogue: try SoundCatalogue.standard())
        options.families = ["hydrogen"]
        options.takesPerClass = 2
        let corpus = try SynthCorpus(options: options)
        #expect(corpus.planner.classes == ["dru"])
        #expect(corpus.items == [.take(code: "dru", index: 0), .take(code: "dru", index: 1)] + (0..<4).map { .song(index: $0) })
    }
}
