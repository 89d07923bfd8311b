import Foundation
import TimbreAudio
import TimbreCore

extension MultitrackLibrary {
    /// Writes a song's sources summed into the separator's targets: `folder/<stem>.wav` for
    /// every target (silence where no source plays it) and, with `mixture`, their sum as
    /// `folder/mixture.wav`. 32-bit float WAV at the song's rate and channels, so the
    /// targets add up to the mixture exactly. These are the stems a perfect separator would
    /// give, for scoring separators and what tagging after separation can reach.
    /// - Throws: `FileError` naming a source that cannot be read or whose rate or channels
    ///   differ from the song's first source, or the song when none of its sources belongs
    ///   to a target.
    public static func writeGroupedStems(_ entry: Entry, to folder: URL, mixture: Bool = true, groups: StemGroups = .standard) throws {
        var sums: [SeparationStem: [[Float]]] = [:]
        var rate = 0, channels = 0, length = 0
        for file in try sourceFiles(entry, groups: groups) {
            let audio = try MultichannelAudio(contentsOf: file.url)
            if rate == 0 { (rate, channels) = (audio.sampleRate, audio.channelCount) }
            guard audio.sampleRate == rate, audio.channelCount == channels else {
                throw FileError(path: file.url.path, reason: "rate or channels differ from the song's other stems")
            }
            length = max(length, audio.frameCount)
            var sum = sums[file.stem] ?? [[Float]](repeating: [], count: channels)
            for c in 0..<channels {
                if sum[c].count < audio.frameCount { sum[c] += [Float](repeating: 0, count: audio.frameCount - sum[c].count) }
                for i in 0..<audio.frameCount { sum[c][i] += audio.channels[c][i] }
            }
            sums[file.stem] = sum
        }
        try FileSystemName.makeFolders(folder.path)
        var total = [[Float]](repeating: [Float](repeating: 0, count: length), count: channels)
        for stem in SeparationStem.allCases {
            let padded = (0..<channels).map { c -> [Float] in
                let values = sums[stem]?[c] ?? []
                return values + [Float](repeating: 0, count: length - values.count)
            }
            for c in 0..<channels { for i in 0..<length { total[c][i] += padded[c][i] } }
            try MultichannelAudio(channels: padded, sampleRate: rate).write(to: folder.appendingPathComponent("\(stem.rawValue).wav"), format: .wavFloat)
        }
        if mixture {
            try MultichannelAudio(channels: total, sampleRate: rate).write(to: folder.appendingPathComponent("mixture.wav"), format: .wavFloat)
        }
    }
}
