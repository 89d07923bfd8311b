import Testing
import TimbreDatasets
import TimbreCore
@testable import TimbreSeparation

@Suite struct PowersetTests {
    @Test func enumeratesEverySubsetOfTheAllowedSizes() {
        let subsets = Powerset.subsets(of: 6, sizes: 2...5)
        // C(6,2) + C(6,3) + C(6,4) + C(6,5) = 15 + 20 + 15 + 6.
        #expect(subsets.count == 56)
        #expect(Set(subsets).count == 56)
        #expect(Dictionary(grouping: subsets, by: \.count).mapValues(\.count) == [2: 15, 3: 20, 4: 15, 5: 6])
    }

    @Test func drawYieldsEverySubsetSizeAndEverySubset() {
        var generator = SeededGenerator(seed: 3)
        var sizes: [Int: Int] = [:]
        var seen = Set<[Int]>()
        for _ in 0..<4000 {
            let subset = Powerset.draw(from: 5, sizes: 2...5, using: &generator)
            #expect(subset == subset.sorted() && Set(subset).count == subset.count && subset.allSatisfy { (0..<5).contains($0) })
            sizes[subset.count, default: 0] += 1
            seen.insert(subset)
        }
        #expect(Set(sizes.keys) == [2, 3, 4, 5])
        // Sizes are drawn uniformly: about 1,000 each.
        for count in sizes.values { #expect(abs(count - 1000) < 150) }
        #expect(seen.count == Powerset.subsets(of: 5, sizes: 2...5).count, "every subset turns up")
    }

    @Test func smallEnsemblesClampTheSizes() {
        var generator = SeededGenerator(seed: 1)
        for _ in 0..<50 { #expect(Powerset.draw(from: 2, sizes: 2...5, using: &generator) == [0, 1]) }
    }

    @Test func stemGroupsFollowMUSDB() {
        let groups = StemGroups.standard
        #expect(groups.group(of: ["female singer"]) == .vocals)
        #expect(groups.group(of: ["kick drum"]) == .drums)
        #expect(groups.group(of: ["tambourine"]) == .drums)
        #expect(groups.group(of: ["electric bass"]) == .bass)
        #expect(groups.group(of: ["double bass"]) == .bass)
        #expect(groups.group(of: ["distorted electric guitar"]) == .other)
        #expect(groups.group(of: ["a name nobody uses"]) == .other)
        #expect(groups.group(of: ["Main System"]) == nil)
    }

    /// A class is a stem's own when every instrument of it goes there; other owns nothing.
    @Test func ownClassesAreTheOnesOnlyAStemHolds() {
        let groups = StemGroups.standard
        #expect(groups.ownClasses(of: .vocals) == ["voi"])
        #expect(groups.ownClasses(of: .drums) == ["dru"])
        #expect(groups.ownClasses(of: .bass) == ["bas"])
        #expect(groups.ownClasses(of: .other).isEmpty)
        // Split between two stems: no stem owns it.
        let split = LabelMap([("electric bass", "bas"), ("kick drum", "bas"), ("female singer", "voi")])
        #expect(groups.ownClasses(of: .bass, classes: split).isEmpty)
        #expect(groups.ownClasses(of: .vocals, classes: split) == ["voi"])
    }
}
