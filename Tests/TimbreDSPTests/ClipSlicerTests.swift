import Testing
@testable import TimbreDSP

@Suite struct ClipSlicerTests {
    let signal = (0..<1000).map(Float.init)

    @Test func fullClipsAtTheHopAndAPaddedTail() {
        let clips = ClipSlicer.clips(of: signal, clipLength: 300, hop: 300, minLastClip: 50)
        #expect(clips.map(\.start) == [0, 300, 600, 900])
        #expect(clips.map(\.validCount) == [300, 300, 300, 100])
        #expect(clips[3].samples.count == 300)
        #expect(clips[3].samples[99] == 999 && clips[3].samples[100] == 0)
        #expect(clips[1].samples.first == 300 && clips[1].samples.last == 599)
    }

    @Test func aTailShorterThanTheMinimumIsDropped() {
        let clips = ClipSlicer.clips(of: signal, clipLength: 300, hop: 300, minLastClip: 101)
        #expect(clips.map(\.start) == [0, 300, 600])
    }

    @Test func anExactMultipleHasNoPaddedClip() {
        let clips = ClipSlicer.clips(of: Array(signal[0..<900]), clipLength: 300, hop: 300, minLastClip: 1)
        #expect(clips.map(\.start) == [0, 300, 600])
        #expect(clips.allSatisfy { !$0.isPadded })
    }

    @Test func overlappingHopsStopAtTheFirstClipThatReachesTheEnd() {
        let clips = ClipSlicer.clips(of: signal, clipLength: 300, hop: 150, minLastClip: 1)
        // The clip at 750 already reaches the end (250 real samples); none follows at 900.
        #expect(clips.map(\.start) == [0, 150, 300, 450, 600, 750])
        #expect(clips.last?.validCount == 250)
        let exact = ClipSlicer.clips(of: Array(signal[0..<900]), clipLength: 300, hop: 150, minLastClip: 1)
        #expect(exact.map(\.start) == [0, 150, 300, 450, 600])
    }

    @Test func aSignalShorterThanOneClipIsPaddedWhenLongEnough() {
        let short = Array(signal[0..<120])
        #expect(ClipSlicer.clips(of: short, clipLength: 300, hop: 300, minLastClip: 100).map(\.validCount) == [120])
        #expect(ClipSlicer.clips(of: short, clipLength: 300, hop: 300, minLastClip: 150).isEmpty)
    }

    @Test func streamingInBlocksEqualsSlicingAtOnce() {
        var slicer = ClipSlicer(clipLength: 300, hop: 200, minLastClip: 10)
        var streamed: [Clip] = []
        var start = 0
        for size in [1, 299, 7, 450, 243] {
            streamed += slicer.append(Array(signal[start..<start + size]))
            start += size
        }
        streamed += slicer.finish()
        let whole = ClipSlicer.clips(of: signal, clipLength: 300, hop: 200, minLastClip: 10)
        #expect(streamed.map(\.start) == whole.map(\.start))
        #expect(streamed.map(\.samples) == whole.map(\.samples))
    }
}

@Suite struct DecibelTests {
    @Test func powerToDBKnownValues() {
        var values: [Float] = [1, 10, 100, 1e-3, 0]
        values.withUnsafeMutableBufferPointer { Decibels.powerToDB($0, topDB: nil) }
        #expect(values == [0, 10, 20, -30, -100])
    }

    @Test func topDBClipsBelowThePeak() {
        var values: [Float] = [1000, 1, 1e-6]
        values.withUnsafeMutableBufferPointer { Decibels.powerToDB($0, topDB: 40) }
        #expect(values == [30, 0, -10])
    }

    @Test func rmsOfAFullScaleSquareWaveIsZeroDB() {
        let square: [Float] = (0..<100).map { $0 % 2 == 0 ? 1 : -1 }
        let level = square.withUnsafeBufferPointer { Decibels.rmsLevel($0) }
        #expect(abs(level) < 1e-12)
        let quiet = square.map { $0 * 0.01 }.withUnsafeBufferPointer { Decibels.rmsLevel($0) }
        #expect(abs(quiet + 40) < 1e-5)  // 0.01 is not exact in Float
        #expect([Float](repeating: 0, count: 10).withUnsafeBufferPointer { Decibels.rmsLevel($0) } == -.infinity)
    }
}
