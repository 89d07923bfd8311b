import Foundation
import Testing
import TimbreAudio
import TimbreCore
@testable import TimbreSeparation
import TimbreTestSupport

/// Songs found and read in both layouts, stems grouped into the four targets, and metadata
/// that points outside its song refused.
@Suite struct MultitrackLibraryTests {
    func tone(_ frequency: Double, seconds: Double = 1, rate: Int = 44_100) -> [Float] {
        (0..<Int(seconds * Double(rate))).map { Float(0.2 * sin(2 * Double.pi * frequency * Double($0) / Double(rate))) }
    }

    func writeMedleyDBSong(_ root: URL, name: String, stems: [(String, String)]) throws {
        let folder = root.appendingPathComponent(name), stemFolder = folder.appendingPathComponent("\(name)_STEMS")
        try FileManager.default.createDirectory(at: stemFolder, withIntermediateDirectories: true)
        var yaml = "mix_filename: \(name)_MIX.wav\nstem_dir: \(name)_STEMS\nstems:\n"
        for (index, (file, instrument)) in stems.enumerated() {
            yaml += "  S0\(index + 1):\n    filename: \(file)\n    instrument: \(instrument)\n"
            if !file.contains("..") {
                try AudioFileWriter.write(tone(110 * Double(index + 1)), sampleRate: 44_100, to: stemFolder.appendingPathComponent(file))
            }
        }
        try yaml.write(to: folder.appendingPathComponent("\(name)_METADATA.yaml"), atomically: true, encoding: .utf8)
    }

    @Test func readsBothLayoutsAndGroupsTheStems() throws {
        let root = scratchFolder("separation")
        defer { try? FileManager.default.removeItem(at: root) }
        try writeMedleyDBSong(root.appendingPathComponent("medley"), name: "Band_Song", stems: [
            ("Band_Song_STEM_01.wav", "female singer"), ("Band_Song_STEM_02.wav", "kick drum"),
            ("Band_Song_STEM_03.wav", "electric bass"), ("Band_Song_STEM_04.wav", "clean electric guitar"), ("Band_Song_STEM_05.wav", "snare drum"),
        ])
        let track = root.appendingPathComponent("musdb/Artist - Title")
        try FileManager.default.createDirectory(at: track, withIntermediateDirectories: true)
        for (index, name) in ["mixture", "vocals", "drums", "bass", "other"].enumerated() {
            try AudioFileWriter.write(tone(100 + 50 * Double(index)), sampleRate: 44_100, to: track.appendingPathComponent("\(name).flac"))
        }
        let entries = try MultitrackLibrary.find(root)
        #expect(entries.map(\.name) == ["Artist - Title", "Band_Song"])
        #expect(entries.map(\.layout) == [.musdb, .medleyDB])
        let medley = try MultitrackLibrary.load(entries[1], sampleRate: 22_050)
        #expect(medley.sources.map(\.stem) == [.vocals, .drums, .bass, .other, .drums])
        #expect(medley.sampleRate == 22_050 && abs(medley.length - 22_050) <= 1)
        let grouped = medley.groupedStems()
        // Kick and snare add up in drums.
        let drums = grouped[.drums]!, kick = medley.sources[1].samples, snare = medley.sources[4].samples
        for i in stride(from: 0, to: medley.length, by: 101) { #expect(abs(drums[i] - (kick[i] + snare[i])) < 1e-6) }
        let musdb = try MultitrackLibrary.load(entries[0], sampleRate: 22_050)
        #expect(musdb.sources.map(\.stem) == SeparationStem.allCases, "the mixture is not a source")
    }

    /// `separate --stems` names each stem once: a repeated one would have two writers race
    /// for one file, and an empty list would find every file done.
    @Test func aStemListNamesAtLeastOneStemEachOnce() throws {
        #expect(try SeparationStem.parseList("vocals, BASS") == [.vocals, .bass])
        #expect(throws: FileError(path: "--stems", reason: "'vocals' is named twice")) { _ = try SeparationStem.parseList("vocals,drums,vocals") }
        for empty in ["", ","] {
            #expect(throws: FileError(path: "--stems", reason: "no stem named; use vocals,drums,bass,other")) { _ = try SeparationStem.parseList(empty) }
        }
        #expect(throws: FileError(path: "--stems", reason: "unknown stem 'piano'; use vocals,drums,bass,other")) { _ = try SeparationStem.parseList("piano") }
    }

    /// A stem holding an infinite sample leaves its song out with one line naming the stem
    /// and where, instead of turning every mixture drawn from it into NaN; a clean song beside
    /// it still loads.
    @Test func aStemWithNonFiniteSamplesLeavesItsSongOut() throws {
        let root = scratchFolder("separation")
        defer { try? FileManager.default.removeItem(at: root) }
        for name in ["Clean", "Damaged"] {
            let track = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: track, withIntermediateDirectories: true)
            for (index, stem) in ["mixture", "vocals", "drums", "bass", "other"].enumerated() {
                var samples = tone(100 + 50 * Double(index))
                if name == "Damaged" && stem == "bass" { samples[33_075] = .infinity }
                try AudioFileWriter.write(samples, sampleRate: 44_100, to: track.appendingPathComponent("\(stem).wav"), format: .wavFloat)
            }
        }
        let entries = try MultitrackLibrary.find(root)
        let results = MultitrackLibrary.loadAll(entries, sampleRate: 44_100)
        #expect(entries.map(\.name) == ["Clean", "Damaged"])
        #expect((try? results[0].get())?.sources.count == 4)
        #expect(throws: FileError(path: root.appendingPathComponent("Damaged/bass.wav").path, reason: "NaN or infinite samples from about 0.75 s; song left out")) {
            _ = try results[1].get()
        }
    }

    /// `group-stems` and `evaluate --oracle-stems` write each target as the sum of its
    /// sources, silence for a target no source plays, and the mixture as their sum; a source
    /// at another rate is refused by name.
    @Test func groupedStemsAreEachTargetsSumAndAddUpToTheMixture() throws {
        let root = scratchFolder("separation")
        defer { try? FileManager.default.removeItem(at: root) }
        try writeMedleyDBSong(root, name: "Band_Song", stems: [
            ("Band_Song_STEM_01.wav", "female singer"), ("Band_Song_STEM_02.wav", "kick drum"),
            ("Band_Song_STEM_03.wav", "clean electric guitar"), ("Band_Song_STEM_04.wav", "piano"), ("Band_Song_STEM_05.wav", "snare drum"),
        ])
        let song = try #require(try MultitrackLibrary.find(root).first)
        let out = root.appendingPathComponent("grouped")
        try MultitrackLibrary.writeGroupedStems(song, to: out)
        func read(_ name: String) throws -> [Float] { try MultichannelAudio(contentsOf: out.appendingPathComponent("\(name).wav")).channels[0] }
        func source(_ number: Int) throws -> [Float] {
            try MultichannelAudio(contentsOf: root.appendingPathComponent("Band_Song/Band_Song_STEMS/Band_Song_STEM_0\(number).wav")).channels[0]
        }
        let expected: [String: [Float]] = [
            "vocals": try source(1), "drums": zip(try source(2), try source(5)).map { $0 + $1 },
            "bass": [Float](repeating: 0, count: 44_100), "other": zip(try source(3), try source(4)).map { $0 + $1 },
        ]
        var sum = [Float](repeating: 0, count: 44_100)
        for (name, want) in expected {
            let got = try read(name)
            #expect(got.count == want.count, "\(name)")
            let error = zip(got, want).map { abs($0 - $1) }.max() ?? 1
            #expect(error < 1e-6, "\(name): largest difference \(error)")
            for i in got.indices { sum[i] += got[i] }
        }
        let mixture = try read("mixture")
        #expect(zip(mixture, sum).map { abs($0 - $1) }.max() ?? 1 < 1e-6)
        // A source at 22,050 Hz among sources at 44,100 Hz.
        try AudioFileWriter.write(tone(110, rate: 22_050), sampleRate: 22_050, to: root.appendingPathComponent("Band_Song/Band_Song_STEMS/Band_Song_STEM_04.wav"))
        #expect {
            try MultitrackLibrary.writeGroupedStems(song, to: root.appendingPathComponent("again"))
        } throws: { error in
            let error = error as? FileError
            return error?.path.hasSuffix("Band_Song_STEM_04.wav") == true && error?.reason.contains("rate or channels differ") == true
        }
        // A song none of whose sources belongs to a target (a main-system recording only) is named, and nothing is written.
        try writeMedleyDBSong(root, name: "Noise_Song", stems: [("Noise_Song_STEM_01.wav", "Main System")])
        let noise = try #require(try MultitrackLibrary.find(root).first { $0.name == "Noise_Song" })
        #expect {
            try MultitrackLibrary.writeGroupedStems(noise, to: root.appendingPathComponent("noise"))
        } throws: { error in
            (error as? FileError)?.path == noise.folder.path && (error as? FileError)?.reason.contains("no stems") == true
        }
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("noise").path))
    }

    @Test func metadataThatPointsOutsideTheSongIsRefused() throws {
        let root = scratchFolder("separation")
        defer { try? FileManager.default.removeItem(at: root) }
        try writeMedleyDBSong(root, name: "Evil", stems: [("../../../../etc/passwd", "female singer")])
        let entries = try MultitrackLibrary.find(root)
        #expect(entries.count == 1)
        #expect {
            _ = try MultitrackLibrary.load(entries[0], sampleRate: 22_050)
        } throws: { error in
            (error as? FileError)?.reason.contains("outside the song folder") == true
        }
    }

    /// A MUSDB stem that is a link must lead to a file inside its track's folder, and a
    /// named pipe in place of MedleyDB metadata is refused, not waited on.
    @Test func aLinkedMUSDBStemOutsideTheTrackAndAPipeAsMetadataAreRefused() throws {
        let root = scratchFolder("separation")
        defer { try? FileManager.default.removeItem(at: root) }
        let track = root.appendingPathComponent("musdb/Linked")
        try FileManager.default.createDirectory(at: track, withIntermediateDirectories: true)
        for name in ["mixture", "drums", "bass", "other"] {
            try AudioFileWriter.write(tone(200), sampleRate: 44_100, to: track.appendingPathComponent("\(name).wav"))
        }
        try AudioFileWriter.write(tone(300), sampleRate: 44_100, to: root.appendingPathComponent("outside.wav"))
        try FileManager.default.createSymbolicLink(at: track.appendingPathComponent("vocals.wav"), withDestinationURL: root.appendingPathComponent("outside.wav"))
        let song = root.appendingPathComponent("medley/Piped")
        try FileManager.default.createDirectory(at: song, withIntermediateDirectories: true)
        #expect(mkfifo(song.appendingPathComponent("Piped_METADATA.yaml").path, 0o644) == 0)
        let entries = try MultitrackLibrary.find(root)
        #expect(entries.map(\.name) == ["Linked", "Piped"])
        #expect {
            _ = try MultitrackLibrary.sourceFiles(entries[0])
        } throws: { error in
            (error as? FileError)?.reason == "leads outside the track folder"
        }
        #expect {
            _ = try MultitrackLibrary.sourceFiles(entries[1])
        } throws: { error in
            (error as? FileError)?.reason == "not a regular file"
        }
    }
}
