import Foundation
import Testing
import TimbreStore
import TimbreTestSupport

/// The resumable steps the model recipes share (scripts/resumable-steps.sh), run with the
/// built `timbre` on songs rendered from the Debian General MIDI bank.
@Suite struct RecipeStepTests {
    static let steps = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/resumable-steps.sh")

    /// Runs `COMMANDS` in bash with the steps loaded, in `folder`.
    static func bash(_ commands: String, in folder: URL, environment: [String: String] = [:]) throws -> TimbreProcess.Output {
        try TimbreProcess.run(["-c", "set -euo pipefail; timbre='\(TimbreProcess.executable.path)'; . '\(steps.path)'; \(commands)"],
                              environment: environment, program: URL(fileURLWithPath: "/bin/bash"), in: folder)
    }

    static func modified(_ url: URL) throws -> Date {
        try FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as! Date
    }

    /// `songs_once` keeps the feature file and removes the rendered songs; run again it
    /// renders and prepares nothing; other synth arguments make the songs and the features
    /// again; a feature file an earlier recipe prepared from songs it kept stays as it was.
    @Test func songsOnceKeepsOnlyTheFeaturesAndRedoesThemWhenTheSongsChange() throws {
        let folder = scratchFolder("recipe")
        let fm = FileManager.default
        let features = folder.appendingPathComponent("songs.h5"), corpus = folder.appendingPathComponent("songs")
        func songsOnce(seed: Int, environment: [String: String] = [:]) throws {
            let run = try Self.bash("songs_once songs songs.h5 --layout medleydb --multitrack-clips mixes -- --takes-per-class 0 --songs 1 "
                                    + "--song-seconds 6 --seed \(seed)", in: folder, environment: environment)
            #expect(run.status == 0, "\(run.stderr)")
        }

        try songsOnce(seed: 9)
        let clips = try FeatureFileReader(url: features).count
        #expect(clips > 0)
        #expect(!fm.fileExists(atPath: corpus.path), "the rendered songs are removed")
        let record = try String(contentsOf: features.appendingPathExtension("songs"), encoding: .utf8)
        #expect(record.hasPrefix("synth --takes-per-class 0 --songs 1 --song-seconds 6 --seed 9\nprepare --layout medleydb --multitrack-clips mixes\n"), "\(record)")
        #expect(record.contains("\nseed 9\n"), "the settings synth records: \(record)")
        let made = try Self.modified(features), listing = try String(contentsOf: features.appendingPathExtension("sources"), encoding: .utf8)

        try songsOnce(seed: 9)
        #expect(try Self.modified(features) == made, "nothing is prepared again")
        #expect(!fm.fileExists(atPath: corpus.path), "nothing is rendered again")

        try songsOnce(seed: 10, environment: ["KEEP_SONGS": "1"])
        #expect(try Self.modified(features) != made)
        #expect(try String(contentsOf: features.appendingPathExtension("sources"), encoding: .utf8) != listing)
        #expect(try String(contentsOf: features.appendingPathExtension("songs"), encoding: .utf8).contains("--seed 10\n"))
        #expect(fm.fileExists(atPath: corpus.appendingPathComponent("MedleyDB").path), "KEEP_SONGS=1 keeps them")
        let remade = try Self.modified(features)
        try songsOnce(seed: 10)
        #expect(try Self.modified(features) == remade && !fm.fileExists(atPath: corpus.path), "a run without KEEP_SONGS removes them")
        #expect(try Self.bash("songs_once songs songs.h5 --layout medleydb", in: folder).stderr == "songs_once: no -- before the synth arguments\n")

        // Songs kept and prepared the earlier way, without the record: the features stand.
        let earlier = try Self.bash("render_once songs --takes-per-class 0 --songs 1 --song-seconds 6 --seed 11; "
                                    + "prepare_once songs/MedleyDB songs.h5 --layout medleydb --multitrack-clips mixes; rm songs.h5.songs", in: folder)
        #expect(earlier.status == 0, "\(earlier.stderr)")
        let prepared = try Self.modified(features)
        try songsOnce(seed: 11)
        #expect(try Self.modified(features) == prepared, "up-to-date features are not prepared again")
        #expect(!fm.fileExists(atPath: corpus.path))
        #expect(fm.fileExists(atPath: features.appendingPathExtension("songs").path))
    }

    /// `chosen_folds` gives the groups FOLDS names, in its order, every group without
    /// FOLDS and none with NO_FOLDS=1, and stops the recipe on a name that is no fold,
    /// listing the folds, or on FOLDS given with NO_FOLDS=1.
    @Test func chosenFoldsFollowFoldsAndRefuseAnUnknownName() throws {
        let folder = scratchFolder("recipe")
        defer { try? FileManager.default.removeItem(at: folder) }
        let groups = #"chosen_folds fluidr3 "solfege festival" "recordings pjs""#
        let all = try Self.bash(groups, in: folder, environment: ["FOLDS": "", "NO_FOLDS": ""])
        #expect(all.status == 0 && all.stdout == "fluidr3\nsolfege festival\nrecordings pjs\n", "\(all.stdout)\(all.stderr)")
        let two = try Self.bash(groups, in: folder, environment: ["FOLDS": "recordings+pjs  solfege+festival", "NO_FOLDS": ""])
        #expect(two.status == 0 && two.stdout == "recordings pjs\nsolfege festival\n", "\(two.stdout)\(two.stderr)")
        let unknown = try Self.bash("chosen=$(\(groups)); echo reached", in: folder, environment: ["FOLDS": "fluidr3 solfege", "NO_FOLDS": ""])
        #expect(unknown.status == 1 && !unknown.stdout.contains("reached"), "\(unknown.stdout)")
        #expect(unknown.stderr == "FOLDS: there is no fold solfege; the folds are: fluidr3 solfege+festival recordings+pjs\n", "\(unknown.stderr)")
        let none = try Self.bash("chosen=$(\(groups)); echo \"[$chosen]\"", in: folder, environment: ["NO_FOLDS": "1"])
        #expect(none.status == 0 && none.stdout == "[]\n", "\(none.stdout)\(none.stderr)")
        let both = try Self.bash("chosen=$(\(groups)); echo reached", in: folder, environment: ["NO_FOLDS": "1", "FOLDS": "fluidr3"])
        #expect(both.status == 1 && !both.stdout.contains("reached") && both.stderr.contains("NO_FOLDS=1 runs no fold"), "\(both.stdout)\(both.stderr)")
    }
}
