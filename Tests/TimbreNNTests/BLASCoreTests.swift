import Testing
import TimbreVectorKernels
@testable import TimbreNN

@Suite struct BLASCoreTests {
    /// Only OpenBLAS's fallback core is replaced, by the core of the CPU's widest vector
    /// unit, and a core the user named is never overridden.
    @Test func onlyTheFallbackCoreIsReplaced() {
        #expect(BLASCore.replacement(current: "Prescott", unit: TimbreVectorUnitAVX512, requested: nil) == "SkylakeX")
        #expect(BLASCore.replacement(current: "Prescott", unit: TimbreVectorUnitAVX2, requested: nil) == "Haswell")
        #expect(BLASCore.replacement(current: "Prescott", unit: TimbreVectorUnitBaseline, requested: nil) == nil)
        #expect(BLASCore.replacement(current: "Prescott", unit: TimbreVectorUnitAVX512, requested: "Prescott") == nil)
        for known in ["SkylakeX", "Haswell", "Zen", "Cooperlake", "Sandybridge"] {
            #expect(BLASCore.replacement(current: known, unit: TimbreVectorUnitAVX512, requested: nil) == nil, "\(known)")
        }
    }
}
