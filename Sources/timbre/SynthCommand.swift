import ArgumentParser
import Foundation
import TimbreConsole
import TimbreCore
import TimbreSynth

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Render a training corpus of instrument recordings in the IRMAS and MedleyDB layouts.",
        discussion: """
            Plays composed phrases (melodies, chords, strums, bass lines, drum grooves) on recorded \
            instrument samples: by default the FluidR3 General MIDI SoundFont (fluid-soundfont-gm) \
            and the drum kits of Hydrogen (hydrogen-drumkits); --families adds other \
            sound sources of labels/sound-sources.csv (SoundFonts, SFZ libraries, recorded notes; \
            datasets/sources.md says how to get them). Parts go through random recording chains \
            (amplifier, EQ, compression, echo, room, noise, level, a codec, a quieter second \
            instrument). Solo takes go to DIR/IRMAS-TrainingData in \
            3-s excerpts, songs (drums, bass, harmony, lead) to DIR/MedleyDB with stems that sum \
            exactly to the mix; DIR/synth-manifest.csv says where each file's sound came from. \
            The same seed gives the same corpus; an interrupted run resumes when repeated.

            Examples:
              timbre synth -o corpus
              timbre synth -o held-out --split held-out --takes-per-class 10 --songs 8
              timbre synth -o corpus --families all --sources sources/
            """
    )

    @Option(name: .shortAndLong, help: "Folder to write the corpus into.")
    var output: String

    @Option(help: "Split: train, or held-out: other seeds and take numbers, plus programs and drum kits training never plays where a class has them.")
    var split = SynthSplit.train

    @Option(help: "Seed of every random choice.")
    var seed: UInt64 = 1

    @Option(help: "Solo takes per class.")
    var takesPerClass = 40

    @Option(help: "3-s excerpts cut from each take (IRMAS files).")
    var excerpts = 3

    @Option(help: "Multitrack songs.")
    var songs = 4

    @Option(help: "Length of each song, seconds.")
    var songSeconds = 30.0

    @Option(help: "Share of songs whose lead is a singer, 0 to 1 (default: voice is one lead among nine).")
    var songVoiceShare: Double?

    @Option(help: "Comma-separated class codes to render (default: all 13).")
    var classes: String?

    @Flag(help: "Render dry takes at one level: no EQ, room, noise or second instrument.")
    var noAugmentation = false

    @Option(help: "Comma-separated sound families to play, or all (default: fluidr3,hydrogen).")
    var families: String?

    @Option(help: "Folder holding the downloaded sample libraries (default: $TIMBRE_SOURCES, else ./sources).")
    var sources: String?

    @Option(help: "A General MIDI SoundFont to play instead of FluidR3, as its own family named after the file.")
    var soundFont: String?

    @Option(help: "Folder of measured impulse responses: rooms/ and cabinets/ (default: SOURCES/impulse-responses when present).")
    var impulseResponses: String?

    @Option(help: "Share of each folder of real recordings (kind recording) kept for the held-out split: training never plays them, the held-out split plays only them (default 0: all play in both).")
    var recordingHoldOut = 0.0

    @Option(help: "Play each part of a real recording up to this many semitones faster or slower, pitch and formants together, drawn per part (default 0: as recorded).")
    var recordingRepitch = 0.0

    @Flag(help: "Print the settings this corpus would have, as DIR/synth-settings.txt records them, and render nothing (for scripts that keep a corpus only while its settings stay the same).")
    var printSettings = false

    @OptionGroup var workers: WorkerOptions

    func validate() throws {
        if takesPerClass > CorpusPlanner.maximumTakesPerClass { throw ValidationError("--takes-per-class is at most \(CorpusPlanner.maximumTakesPerClass)") }
        if takesPerClass < 0 || songs < 0 || excerpts < 1 { throw ValidationError("counts must be positive") }
        try requireOption(songSeconds, "--song-seconds", in: 3...3600)
        try requireOption(excerpts, "--excerpts", in: 1...100)
        try requireOption(songs, "--songs", in: 0...100_000)
        if let codes = classes?.split(separator: ",").map(String.init), let bad = codes.first(where: { InstrumentSources.source(for: $0) == nil }) {
            throw ValidationError("unknown class code '\(bad)'; use \(InstrumentSources.all.map(\.code).joined(separator: ","))")
        }
        if let songVoiceShare, !(0...1).contains(songVoiceShare) { throw ValidationError("--song-voice-share must be between 0 and 1") }
        if !(0..<1).contains(recordingHoldOut) { throw ValidationError("--recording-hold-out must be at least 0 and below 1") }
        try requireOption(recordingRepitch, "--recording-repitch", in: 0...12)
    }

    func run() throws {
        try reportingErrors { try OutputPath.checkFolder(URL(fileURLWithPath: output)) }
        var options = SynthOptions(output: URL(fileURLWithPath: output), catalogue: try reportingErrors { try SoundCatalogue.standard() })
        options.split = split
        options.seed = seed
        options.takesPerClass = takesPerClass
        options.excerpts = excerpts
        options.songs = songs
        options.songSeconds = songSeconds
        options.songVoiceShare = songVoiceShare
        options.augment = !noAugmentation
        options.recordingHoldOut = recordingHoldOut
        options.recordingRepitch = recordingRepitch
        if let codes = classes?.split(separator: ",").map(String.init) {
            options.classes = InstrumentSources.all.map(\.code).filter(codes.contains)
        }
        let sourcesPath = sources ?? ProcessInfo.processInfo.environment["TIMBRE_SOURCES"] ?? "sources"
        options.sources = URL(fileURLWithPath: sourcesPath)
        if let families {
            options.families = families == "all" ? options.catalogue.families : families.split(separator: ",").map(String.init)
        }
        if let soundFont {
            // Loaded once here, so a file that is no SoundFont gets one line, not one per take.
            _ = try reportingErrors { try SoundFontSynth(soundFont: URL(fileURLWithPath: soundFont)) }
            let family = options.addGeneralMIDIFamily(soundFont: URL(fileURLWithPath: soundFont))
            if families == nil { options.families = [family, "hydrogen"] } else { options.families.append(family) }
        }
        let responses = impulseResponses.map { URL(fileURLWithPath: $0) } ?? options.sources.appendingPathComponent("impulse-responses")
        if FileManager.default.fileExists(atPath: responses.path) { options.impulseResponses = responses }
        options.workers = workers.count

        let corpus = try reportingErrors { try SynthCorpus(options: options) }
        if printSettings {
            print(corpus.settings, terminator: "")
            return
        }
        let stop = StopFlag()
        let interrupts = InterruptHandler { stop.set() }
        let bar = ProgressBar(total: corpus.items.count, unit: "takes")
        let summary = try reportingErrors {
            try corpus.run(progress: { done, _ in bar.update(done: done, detail: "", rate: (done, "takes")) }, shouldStop: { stop.isSet })
        }
        bar.clear()
        withExtendedLifetime(interrupts) {}
        for failure in summary.failures { Terminal.printError("timbre: \(failure)") }
        print("wrote \(output): \(summary.rendered) takes and songs rendered, \(summary.skipped) already there, "
            + String(format: "%.1f s", summary.seconds))
        if stop.isSet { throw ExitCode(130) }
        if !summary.failures.isEmpty { throw ExitCode(2) }
    }
}

/// Set from a signal handler's thread, read by workers.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
