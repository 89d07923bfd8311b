import Testing
@testable import TimbreNN

@Suite struct FusionPassTests {
    @Test func theClassifiersFusionsArePlannedFromItsArchitecture() {
        let architecture = Architecture.instrumentCNN(classes: 5, inputShape: [1, 32, 32], filters: 8, hidden: 16)
        let plan = FusionPass(architecture.layers)
        // 0 standardize; blocks at 1, 4, 8, 12 (conv, relu, pool, then dropout after blocks 2–4).
        #expect(plan.convolutionsWithReLU == [1, 4, 8, 12])
        #expect(plan.identityReLUs == [2, 5, 9, 13])
        #expect(plan.maskingPools == [3, 6, 10, 14])
        #expect(plan.pooledRuns[1] == [1, 4, 8, 12])
        #expect(plan.pooledRuns[8] == [8, 12])
        #expect(plan.pooledRuns[2] == nil)
    }

    /// The fused, channels-last inference gives the layer-by-layer pass's logits.
    @Test func fusedInferenceEqualsTheLayerByLayerPass() {
        let model = Sequential(Architecture.instrumentCNN(classes: 5, inputShape: [1, 32, 32], filters: 8, hidden: 16))
        model.initialize(seed: 3)
        let input = randomTensor([3, 1, 32, 32], seed: 61)
        let context = ForwardContext(training: false)
        let fused = model.forward(input, context: context)
        let plain = model.layers.reduce(input) { $1.forward($0, context: context) }
        #expect(fused.shape == plain.shape)
        for (a, b) in zip(fused.data, plain.data) { #expect(abs(a - b) <= 1e-4 * max(1, abs(b))) }
    }
}
