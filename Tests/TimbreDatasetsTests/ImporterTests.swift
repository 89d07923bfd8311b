import Foundation
import Testing
@testable import TimbreDatasets
import TimbreCore

private let taxonomy = Taxonomy.standard
private func index(_ code: String) -> Int { taxonomy.index(of: code)! }

@Suite struct LabelTableTests {
    @Test func theTaxonomyHasThirteenClassesWithFamilies() {
        #expect(taxonomy.codes == ["cel", "cla", "flu", "gac", "gel", "org", "pia", "sax", "tru", "vio", "voi", "dru", "bas"])
        #expect(taxonomy.classes.allSatisfy { !$0.name.isEmpty && !$0.family.isEmpty })
    }

    @Test func everyMappedCodeExistsInTheTaxonomy() {
        for map in [LabelMap.medleyDB, .generalMIDI, .folderNames] {
            #expect(map.targetCodes.isSubset(of: Set(taxonomy.codes)), "\(map.targetCodes.subtracting(taxonomy.codes))")
        }
    }

    @Test func generalMIDICoversAllProgramsAndPercussion() {
        #expect(LabelMap.generalMIDI.code(for: "0") == "pia")
        #expect(LabelMap.generalMIDI.code(for: "42") == "cel")
        #expect(LabelMap.generalMIDI.code(for: "73") == "flu")
        #expect(LabelMap.generalMIDI.lookup("127") == .noClass)
        #expect(LabelMap.generalMIDI.lookup("128") == .unknown)
        #expect(LabelMap.generalMIDI.code(for: "percussion") == "dru")
    }

    @Test func medleyDBNamesMapAsDocumented() {
        #expect(LabelMap.medleyDB.code(for: "clean electric guitar") == "gel")
        #expect(LabelMap.medleyDB.code(for: "female singer") == "voi")
        #expect(LabelMap.medleyDB.code(for: "drum set") == "dru")
        #expect(LabelMap.medleyDB.lookup("synthesizer") == .noClass)
        #expect(LabelMap.medleyDB.lookup("fx/processed sound") == .noClass)
        #expect(LabelMap.medleyDB.lookup("kazoo") == .unknown)
    }

    @Test func folderNamesIgnoreCaseAndSeparators() {
        let names = LabelMap.folderNames
        #expect(names.code(for: "Cello") == "cel")
        #expect(names.code(for: "acoustic_guitar") == "gac")
        #expect(names.code(for: "Acoustic Guitar") == "gac")
        #expect(names.code(for: "electric-bass") == "bas")
        #expect(names.code(for: "voi") == "voi")
        #expect(names.code(for: "kazoo") == nil)
    }
}

@Suite struct IRMASTrainingTests {
    @Test func namesParseIncludingPrefixesAndGenreBrackets() {
        #expect(IRMASTrainingImporter.parse("[cel][cla]0001__1.wav") == .init(instrument: "cel", song: "0001"))
        #expect(IRMASTrainingImporter.parse("008__[flu][nod][cla]0393__1.wav") == .init(instrument: "flu", song: "0393"))
        #expect(IRMASTrainingImporter.parse("[cla][dru][jaz_blu]2120__3.wav") == .init(instrument: "cla", song: "2120"))
        #expect(IRMASTrainingImporter.parse("[voi][pop_roc].wav") == .init(instrument: "voi", song: nil))
        #expect(IRMASTrainingImporter.parse("cello take 1.wav") == nil)
        #expect(IRMASTrainingImporter.parse("008__cello.wav") == nil)
    }

    @Test func aTreeImportsWithClassesFromTheFirstBracketAndSongGroups() {
        let tree = FixtureTree()
        tree.audio("IRMAS-TrainingData/cel/[cel][cla]0001__1.wav")
        tree.audio("IRMAS-TrainingData/cel/[cel][cla]0001__2.wav")
        tree.audio("IRMAS-TrainingData/cla/008__[cla][nod][cla]0058__1.wav")
        tree.audio("IRMAS-TrainingData/voi/[voi][pop_roc]0099__1 (copy).wav")
        tree.audio("IRMAS-TrainingData/xyz/[xyz][cla]0100__1.wav")
        tree.text("IRMAS-TrainingData/README.txt", "not audio")
        #expect(DatasetLayout.detect(tree.root) == .irmas)
        let result = IRMASTrainingImporter.importRoot(tree.root, taxonomy: taxonomy)
        let byPath = Dictionary(uniqueKeysWithValues: result.jobs.map { ($0.primary.relativePath, $0) })
        #expect(byPath.count == 4)
        #expect(byPath["IRMAS-TrainingData/cel/[cel][cla]0001__1.wav"]?.primary.classIndices == [index("cel")])
        #expect(byPath["IRMAS-TrainingData/cla/008__[cla][nod][cla]0058__1.wav"]?.primary.classIndices == [index("cla")])
        #expect(byPath["IRMAS-TrainingData/cel/[cel][cla]0001__1.wav"]?.group == byPath["IRMAS-TrainingData/cel/[cel][cla]0001__2.wav"]?.group)
        #expect(byPath["IRMAS-TrainingData/voi/[voi][pop_roc]0099__1 (copy).wav"]?.group == "irmas:0099")
        #expect(result.failures.map(\.reason) == ["unknown class code [xyz]"])
    }
}

@Suite struct IRMASTestingTests {
    @Test func labelFilesToleratesTabsCRLFAndDuplicates() {
        #expect(IRMASTestingImporter.parseLabels("gel\t\r\nvoi\t\n\n gel \n") == ["gel", "voi"])
        #expect(IRMASTestingImporter.parseLabels("") == [])
    }

    @Test func aLatin1LabelFileIsReadAndAHugeOneRefused() throws {
        let tree = FixtureTree()
        tree.audio("song-1.wav")
        try Data([0x67, 0x65, 0x6C, 0x0A, 0x76, 0x6F, 0x69, 0x20, 0xE9, 0x0A]).write(to: tree.root.appendingPathComponent("song-1.txt"))
        tree.audio("song-2.wav")
        tree.text("song-2.txt", String(repeating: "gel\n", count: 20_000))
        let result = IRMASTestingImporter.importRoot(tree.root, taxonomy: taxonomy)
        #expect(result.failures.map(\.path) == ["song-1.wav", "song-2.wav"])
        #expect(result.failures.first?.reason == "unknown class code(s) voi é in song-1.txt", "a Latin-1 file is read, not called missing")
        #expect(result.failures.last?.reason == "label file song-2.txt is larger than 64 KB")
    }

    /// The label file is named after the audio, so it is checked like a metadata path: a
    /// link out of the data set and a named pipe are refused with one line each.
    @Test func aLabelFileLinkedOutsideOrAPipeIsRefused() throws {
        let tree = FixtureTree()
        tree.text("outside.txt", "root:x:0:0\n")
        tree.audio("set/song-1.wav")
        try FileManager.default.createSymbolicLink(at: tree.root.appendingPathComponent("set/song-1.txt"), withDestinationURL: tree.root.appendingPathComponent("outside.txt"))
        tree.audio("set/song-2.wav")
        #expect(mkfifo(tree.root.appendingPathComponent("set/song-2.txt").path, 0o644) == 0)
        let result = IRMASTestingImporter.importRoot(tree.root.appendingPathComponent("set"), taxonomy: taxonomy)
        #expect(result.jobs.isEmpty)
        #expect(result.failures.map(\.description) == [
            "song-1.wav: label file song-1.txt leads outside the data set",
            "song-2.wav: label file song-2.txt: not a regular file",
        ])
    }

    @Test func excerptsOfOneSongShareAGroup() {
        #expect(IRMASTestingImporter.song(of: "(02) dont kill the whale-1.wav") == "(02) dont kill the whale")
        #expect(IRMASTestingImporter.song(of: "01 - Song-Title-12.wav") == "01 - Song-Title")
        #expect(IRMASTestingImporter.song(of: "plain.wav") == "plain")
    }

    @Test func aTreeImportsAsMultiLabel() {
        let tree = FixtureTree()
        tree.audio("Part1/(02) dont kill the whale-1.wav")
        tree.text("Part1/(02) dont kill the whale-1.txt", "gel\t\nvoi\t\n")
        tree.audio("Part1/(02) dont kill the whale-2.wav")
        tree.text("Part1/(02) dont kill the whale-2.txt", "pia\n")
        tree.audio("Part1/no labels-1.wav")
        tree.audio("Part1/odd-1.wav")
        tree.text("Part1/odd-1.txt", "kaz\n")
        #expect(DatasetLayout.detect(tree.root) == .irmasTest)
        let result = IRMASTestingImporter.importRoot(tree.root, taxonomy: taxonomy)
        #expect(result.jobs.count == 2)
        #expect(result.jobs[0].primary.classIndices == [index("gel"), index("voi")])
        #expect(result.jobs[1].primary.classIndices == [index("pia")])
        #expect(result.jobs[0].group == result.jobs[1].group)
        #expect(Set(result.failures.map(\.path)) == ["Part1/no labels-1.wav", "Part1/odd-1.wav"])
        #expect(result.failures.contains { $0.reason.contains("kaz") })
    }
}

@Suite struct MedleyDBTests {
    static let metadata = """
        album: ''
        artist: Some Band
        mix_filename: SomeBand_Song_MIX.wav
        raw_dir: SomeBand_Song_RAW
        stem_dir: SomeBand_Song_STEMS
        stems:
          S01:
            component: bass
            filename: SomeBand_Song_STEM_01.wav
            instrument: electric bass
            raw:
              R01: {filename: SomeBand_Song_RAW_01_01.wav, instrument: electric bass}
          S02:
            component: melody
            filename: SomeBand_Song_STEM_02.wav
            instrument: [male singer, vocalists]
          S03:
            component: ''
            filename: SomeBand_Song_STEM_03.wav
            instrument: synthesizer
          S04:
            component: ''
            filename: SomeBand_Song_STEM_04.wav
            instrument: glass harmonica
        title: Song
        version: 1.2
        """

    @Test func metadataParsesStringAndListInstruments() throws {
        let parsed = try MedleyDBImporter.parseMetadata(Self.metadata, songID: "SomeBand_Song")
        #expect(parsed.mixFilename == "SomeBand_Song_MIX.wav")
        #expect(parsed.stems.map(\.instruments) == [["electric bass"], ["male singer", "vocalists"], ["synthesizer"], ["glass harmonica"]])
    }

    /// A song whose metadata names a file outside the data set (by `..`, an absolute
    /// directory or a link) is refused with one line; nothing outside is ever read.
    @Test(arguments: [
        ("filename: SomeBand_Song_STEM_01.wav", "filename: ../../../outside.wav"),
        ("stem_dir: SomeBand_Song_STEMS", "stem_dir: ../../.."),
        ("mix_filename: SomeBand_Song_MIX.wav", "mix_filename: ../../../outside.wav"),
        ("filename: SomeBand_Song_STEM_01.wav", "filename: linked.wav"),
    ])
    func aPathLeadingOutsideTheDataSetRefusesTheSong(original: String, crafted: String) throws {
        let tree = FixtureTree()
        tree.audio("outside.wav")
        tree.text("Audio/SomeBand_Song/SomeBand_Song_METADATA.yaml", Self.metadata.replacingOccurrences(of: original, with: crafted))
        tree.audio("Audio/SomeBand_Song/SomeBand_Song_MIX.wav")
        for n in 1...4 { tree.audio("Audio/SomeBand_Song/SomeBand_Song_STEMS/SomeBand_Song_STEM_0\(n).wav") }
        try FileManager.default.createSymbolicLink(at: tree.root.appendingPathComponent("Audio/SomeBand_Song/SomeBand_Song_STEMS/linked.wav"),
                                                   withDestinationURL: tree.root.appendingPathComponent("outside.wav"))
        // The data set is `Audio`; `outside.wav` sits beside it, three levels above the stems.
        let root = tree.root.appendingPathComponent("Audio")
        let result = MedleyDBImporter.importRoot(root, taxonomy: taxonomy)
        #expect(result.jobs.isEmpty)
        #expect(result.failures.count == 1)
        #expect(result.failures.first?.path == "SomeBand_Song/SomeBand_Song_METADATA.yaml")
        #expect(result.failures.first?.reason.hasSuffix("which lies outside the data set") == true, "\(result.failures)")
    }

    /// Nine anchors of nine aliases each would expand to 9^9 nodes. Any alias is refused
    /// before the tree is built, in a value or as a key (which the composer would compare
    /// at its full expansion); an anchor alone is harmless.
    @Test func anAliasIsRefusedBeforeTheTreeIsBuilt() throws {
        var anchors = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
        for level in 1..<9 { anchors += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ") + "]\n" }
        for stems in ["  S01: {filename: s.wav, instrument: *a8}", "  S01: {filename: s.wav, *a8 : piano}", "  ? *a8\n  : {filename: s.wav}"] {
            #expect {
                _ = try MedleyDBImporter.parseMetadata(anchors + "stems:\n" + stems + "\n", songID: "Bomb")
            } throws: { error in
                (error as? FileError)?.description == "Bomb_METADATA.yaml: uses YAML aliases (*name), which metadata files do not need"
            }
        }
        let anchored = try MedleyDBImporter.parseMetadata("note: &n anchored\n" + Self.metadata, songID: "SomeBand_Song")
        #expect(anchored.stems.count == 4)
        let huge = String(repeating: "# padding\n", count: 110_000) + Self.metadata
        #expect(throws: FileError.self) { try MedleyDBImporter.parseMetadata(huge, songID: "Huge") }
    }

    @Test func aSongBecomesOneMultitrackJobWithUnmappedStemsReported() {
        let tree = FixtureTree()
        tree.text("Audio/SomeBand_Song/SomeBand_Song_METADATA.yaml", Self.metadata)
        tree.audio("Audio/SomeBand_Song/SomeBand_Song_MIX.wav")
        for n in 1...4 { tree.audio("Audio/SomeBand_Song/SomeBand_Song_STEMS/SomeBand_Song_STEM_0\(n).wav") }
        tree.text("Audio/Broken_Song/Broken_Song_METADATA.yaml", "stems: [unclosed")
        #expect(DatasetLayout.detect(tree.root) == .medleydb)
        let result = MedleyDBImporter.importRoot(tree.root, taxonomy: taxonomy)
        #expect(result.jobs.count == 1)
        guard case .multitrack(let mix, let stems, let group) = result.jobs.first else {
            Issue.record("expected a multitrack job")
            return
        }
        #expect(group == "medleydb:SomeBand_Song")
        #expect(mix.relativePath == "Audio/SomeBand_Song/SomeBand_Song_MIX.wav")
        #expect(mix.classIndices == [index("voi"), index("bas")].sorted())
        #expect(stems.map(\.classIndices) == [[index("bas")], [index("voi")]])
        #expect(stems.map(\.relativePath) == ["Audio/SomeBand_Song/SomeBand_Song_STEMS/SomeBand_Song_STEM_01.wav", "Audio/SomeBand_Song/SomeBand_Song_STEMS/SomeBand_Song_STEM_02.wav"])
        #expect(result.notes.count == 2)
        #expect(result.notes.contains { $0.contains("synthesizer (1)") })
        #expect(result.notes.contains { $0.contains("glass harmonica (1)") })
        #expect(result.failures.map(\.path) == ["Audio/Broken_Song/Broken_Song_METADATA.yaml"])
    }
}

@Suite struct FolderLayoutTests {
    @Test func foldersMapBySynonymAndUnknownFoldersAreReported() {
        let tree = FixtureTree()
        tree.audio("Cello/take one.wav")
        tree.audio("Acoustic_Guitar/sub dir/ünïcode take.flac")
        tree.audio("Kazoo/a.wav")
        tree.audio("loose.wav")
        try! FileManager.default.createSymbolicLink(at: tree.root.appendingPathComponent("Cello/linked.wav"), withDestinationURL: tree.root.appendingPathComponent("loose.wav"))
        #expect(DatasetLayout.detect(tree.root) == .folders)
        let result = FolderImporter.importRoot(tree.root, taxonomy: taxonomy)
        #expect(result.jobs.map(\.primary.relativePath) == ["Acoustic_Guitar/sub dir/ünïcode take.flac", "Cello/linked.wav", "Cello/take one.wav"])
        #expect(result.jobs.map(\.primary.classIndices) == [[index("gac")], [index("cel")], [index("cel")]])
        #expect(Set(result.jobs.map(\.group)).count == 3)
        #expect(Set(result.failures.map(\.path)) == ["Kazoo", "loose.wav"])
    }

    @Test func theFinderSkipsHiddenEntriesAndDoesNotFollowFolderLinks() throws {
        let tree = FixtureTree()
        tree.audio("b/2.wav")
        tree.audio("a/1.wav")
        tree.audio(".hidden/3.wav")
        tree.audio("a/.4.wav")
        tree.text("a/notes.txt", "x")
        let outside = FixtureTree()
        outside.audio("far.wav")
        try FileManager.default.createSymbolicLink(at: tree.root.appendingPathComponent("linked folder"), withDestinationURL: outside.root)
        try FileManager.default.createSymbolicLink(at: tree.root.appendingPathComponent("b/linked.wav"), withDestinationURL: outside.root.appendingPathComponent("far.wav"))
        try FileManager.default.createSymbolicLink(at: tree.root.appendingPathComponent("b/dangling.wav"), withDestinationURL: outside.root.appendingPathComponent("gone.wav"))
        let relative = { (root: URL) in AudioFileFinder.allFiles(under: root).map { AudioFileFinder.relativePath(of: $0, to: root) } }
        #expect(relative(tree.root) == ["a/1.wav", "a/notes.txt", "b/2.wav", "b/linked.wav"])
        // A root given through a link is walked like the folder itself.
        let linkedRoot = outside.root.appendingPathComponent("root link")
        try FileManager.default.createSymbolicLink(at: linkedRoot, withDestinationURL: tree.root)
        #expect(relative(linkedRoot) == ["a/1.wav", "a/notes.txt", "b/2.wav", "b/linked.wav"])
    }

    @Test func aMissingRootIsAnError() {
        #expect(throws: FileError.self) { try DatasetImporter.importRoot(URL(fileURLWithPath: "/no/such/dir"), layout: nil) }
    }
}
