import Testing
import TimbreCore
import TimbreNN
@testable import TimbreSeparation

/// Finite-difference checks of the masking losses and of each separator family end to end.
@Suite struct SeparatorGradientTests {
    func random(_ count: Int, seed: UInt64, low: Float = 0, high: Float = 1) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in low + (high - low) * generator.nextUnit() }
    }

    /// Loss gradients with respect to the activations, against central differences.
    @Test(arguments: [(MaskNormalisation.acrossStems, SeparationLoss.chandna), (.acrossStems, .l1), (.perStem, .l1), (.perStem, .chandna)])
    func maskingLossGradient(normalisation: MaskNormalisation, loss: SeparationLoss) {
        let stems = SeparationStem.allCases, batch = 2, plane = 6
        var activations = Tensor(shape: [batch, stems.count, plane], data: random(batch * stems.count * plane, seed: 1, low: 0.05, high: 1))
        let mixtures = (0..<batch).map { random(plane, seed: 10 + UInt64($0), high: 2) }
        let targets = (0..<batch).map { item in (0..<stems.count).map { random(plane, seed: 20 + UInt64(item * 4 + $0)) } }
        func value(_ a: Tensor) -> Double {
            SourceMasking.loss(a, mixtures: mixtures, targets: targets, stems: stems, loss: loss, normalisation: normalisation).value
        }
        let gradient = SourceMasking.loss(activations, mixtures: mixtures, targets: targets, stems: stems, loss: loss, normalisation: normalisation).gradient
        let h: Float = 1e-3
        for i in 0..<activations.count {
            let saved = activations.data[i]
            activations.data[i] = saved + h
            let up = value(activations)
            activations.data[i] = saved - h
            let down = value(activations)
            activations.data[i] = saved
            let numeric = (up - down) / Double(2 * h)
            #expect(abs(numeric - Double(gradient.data[i])) < 1e-3 + 0.02 * abs(numeric), "value \(i): numeric \(numeric), analytic \(gradient.data[i])")
        }
    }

    @Test func normalisedMasksSumToOne() {
        let a = random(4 * 10, seed: 5)
        let masks = a.withUnsafeBufferPointer { SourceMasking.masks($0, stems: 4, normalisation: .acrossStems) }
        for p in 0..<10 { #expect(abs((0..<4).reduce(Float(0)) { $0 + masks[$1 * 10 + p] } - 1) < 1e-6) }
    }

    /// The whole network and loss: parameter gradients against central differences.
    func checkNetwork(_ spec: GraphSpec, settings: SeparatorSettings, normalisation: MaskNormalisation, loss: SeparationLoss, seed: UInt64) throws {
        let store = ParameterStore()
        let (graph, _) = try spec.build(store: store)
        var generator = SeededGenerator(seed: seed)
        graph.initializeParameters(using: &generator)
        let batch = 2, plane = settings.frames * settings.bins, s = settings.stems.count
        let input = Tensor(shape: [batch] + spec.inputs[0].shape, data: random(batch * plane, seed: seed + 1, low: -1, high: 1))
        let mixtures = (0..<batch).map { random(plane, seed: seed + 2 + UInt64($0), high: 2) }
        let targets = (0..<batch).map { item in (0..<s).map { random(plane, seed: seed + 10 + UInt64(item * s + $0)) } }
        func lossValue() -> Double {
            let out = graph.forward(["mixture": input], context: ForwardContext(training: true))["masks"]!
            return SourceMasking.loss(out, mixtures: mixtures, targets: targets, stems: settings.stems, loss: loss, normalisation: normalisation).value
        }
        store.zeroGradients()
        let out = graph.forward(["mixture": input], context: ForwardContext(training: true))["masks"]!
        #expect(Array(out.shape.dropFirst()) == (settings.timeMajor ? [s, settings.frames, settings.bins] : [s, settings.bins, settings.frames]))
        let gradient = SourceMasking.loss(out, mixtures: mixtures, targets: targets, stems: settings.stems, loss: loss, normalisation: normalisation).gradient
        _ = graph.backward(["masks": gradient])
        var checked = 0, agreed = 0
        for slice in store.slices {
            // A few values of every parameter tensor.
            for k in stride(from: 0, to: slice.count, by: max(1, slice.count / 3)) {
                let index = slice.offset + k, saved = store.values[index], h: Float = 2e-3
                store.values[index] = saved + h
                let up = lossValue()
                store.values[index] = saved - h
                let down = lossValue()
                store.values[index] = saved
                let numeric = (up - down) / Double(2 * h), analytic = Double(store.gradients[index])
                checked += 1
                if abs(numeric - analytic) <= 2e-4 + 0.05 * max(abs(numeric), abs(analytic)) { agreed += 1 }
            }
        }
        // Float32 differences across ReLU and LeakyReLU kinks miss now and then; a wrong
        // backward pass misses most of them.
        #expect(Double(agreed) >= 0.9 * Double(checked), "\(agreed) of \(checked) parameter gradients agree")
    }

    @Test func chandnaNetworkGradient() throws {
        var settings = SeparatorArchitecture.chandna.defaultSettings(stems: SeparationStem.allCases)
        settings.frames = 14
        settings.bins = 9
        try checkNetwork(SeparatorArchitecture.chandna.spec(settings: settings), settings: settings, normalisation: .acrossStems, loss: .chandna, seed: 100)
        // Other widths than the paper's: the maps and the bottleneck follow the options.
        var sizes = SeparatorArchitecture.Options()
        (sizes.verticalMaps, sizes.horizontalMaps, sizes.bottleneck) = (7, 5, 6)
        let wider = SeparatorArchitecture.chandna.spec(settings: settings, options: sizes)
        let shapes = try wider.shapes()
        #expect(shapes["encoder/vertical"] == [7, 14, 1] && shapes["encoder/horizontal"] == [5, 3, 1] && shapes["encoder/bottleneck"] == [1, 6])
        try checkNetwork(wider, settings: settings, normalisation: .acrossStems, loss: .chandna, seed: 101)
    }

    @Test func multitaskNetworkGradient() throws {
        var settings = SeparatorArchitecture.multitask.defaultSettings(stems: [.vocals, .other])
        settings.frames = 32
        settings.bins = 32
        try checkNetwork(SeparatorArchitecture.multitask.spec(settings: settings), settings: settings, normalisation: .perStem, loss: .l1, seed: 200)
        var independent = SeparatorArchitecture.Options()
        independent.sharedEncoder = false
        try checkNetwork(SeparatorArchitecture.multitask.spec(settings: settings, options: independent), settings: settings, normalisation: .perStem, loss: .l1, seed: 250)
    }

    @Test func samsNetworkGradient() throws {
        var settings = SeparatorArchitecture.sams.defaultSettings(stems: SeparationStem.allCases)
        settings.frames = 16
        settings.bins = 16
        var options = SeparatorArchitecture.Options()
        options.chunk = 8
        options.heads = 2
        try checkNetwork(SeparatorArchitecture.sams.spec(settings: settings, options: options), settings: settings, normalisation: .acrossStems, loss: .l1, seed: 300)
    }

    @Test func temporalConvolutionNetworkGradient() throws {
        var settings = SeparatorArchitecture.tcn.defaultSettings(stems: SeparationStem.allCases)
        settings.frames = 14
        settings.bins = 9
        var options = SeparatorArchitecture.Options()
        (options.frameUnits, options.blocks) = (6, 3)
        let spec = SeparatorArchitecture.tcn.spec(settings: settings, options: options)
        // Every block keeps the frames; the third looks 4 frames either way.
        let shapes = try spec.shapes()
        #expect(shapes["embedding/dense"] == [6, 14, 1] && shapes["block3/conv"] == [6, 14, 1] && shapes["decoder/skip"] == [12, 14, 1])
        try checkNetwork(spec, settings: settings, normalisation: .acrossStems, loss: .chandna, seed: 400)
    }

    /// A frame's masks depend on the frames within the blocks' reach and on no others.
    @Test func temporalConvolutionContextIsTheDilatedReach() throws {
        var settings = SeparatorArchitecture.tcn.defaultSettings(stems: [.vocals, .other])
        settings.frames = 40
        settings.bins = 5
        var options = SeparatorArchitecture.Options()
        (options.frameUnits, options.blocks) = (16, 3)
        let spec = SeparatorArchitecture.tcn.spec(settings: settings, options: options)
        let store = ParameterStore()
        let (graph, _) = try spec.build(store: store)
        var generator = SeededGenerator(seed: 7)
        graph.initializeParameters(using: &generator)
        let data = random(settings.frames * settings.bins, seed: 8, low: -1, high: 1)
        func masks(_ values: [Float]) -> [Float] {
            graph.forward(["mixture": Tensor(shape: [1, 1, settings.frames, settings.bins], data: values)], context: ForwardContext(training: false))["masks"]!.data
        }
        let before = masks(data)
        var changed = data
        for f in 0..<settings.bins { changed[20 * settings.bins + f] += 1 }
        let after = masks(changed)
        // Dilations 1, 2 and 4 reach 7 frames either way: frames 13...27 move, the rest do not.
        for stem in 0..<2 {
            for t in 0..<settings.frames {
                let offset = (stem * settings.frames + t) * settings.bins
                let moved = (0..<settings.bins).contains { before[offset + $0] != after[offset + $0] }
                #expect(moved == (13...27).contains(t), "stem \(stem), frame \(t)")
            }
        }
    }

    @Test func familiesFitTheirDefaultSettings() throws {
        for architecture in SeparatorArchitecture.allCases {
            let settings = architecture.defaultSettings(stems: SeparationStem.allCases)
            let shapes = try architecture.spec(settings: settings).shapes()
            let expected = settings.timeMajor ? [4, settings.frames, settings.bins] : [4, settings.bins, settings.frames]
            #expect(shapes["masks"] == expected, "\(architecture)")
        }
    }
}
