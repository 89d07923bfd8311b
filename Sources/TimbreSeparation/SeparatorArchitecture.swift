import TimbreNN

/// The separator network families, as layer-graph descriptions. Each takes one input
/// plane of standardised log magnitudes (`mixture`, [1, T, F] or [1, F, T]) and gives
/// `masks`, one non-negative plane per stem in the same layout.
public enum SeparatorArchitecture: String, CaseIterable, Sendable {
    case chandna, multitask, sams, tcn

    /// Settings each family is built for: Chandna's 1024/256 STFT and all 513 bins with a
    /// short context; the U-Net and Sams-Net drop the Nyquist bin so that strided stages
    /// halve evenly.
    public func defaultSettings(stems: [SeparationStem]) -> SeparatorSettings {
        var settings = SeparatorSettings(architecture: rawValue)
        settings.stems = stems
        switch self {
        case .chandna: settings.bins = 513; settings.frames = 30; settings.timeMajor = true
        case .multitask: settings.bins = 512; settings.frames = 64; settings.timeMajor = true
        case .sams: settings.bins = 512; settings.frames = 64; settings.timeMajor = false
        case .tcn: settings.bins = 513; settings.frames = 64; settings.timeMajor = true
        }
        return settings
    }

    /// The loss each family trains with unless told otherwise: Chandna's discriminative
    /// squared error for the networks whose sigmoids are normalised across stems (L1 left
    /// Chandna's network at 1.00 dB against 2.16), L1 on masked magnitudes for the U-Net
    /// and Sams-Net.
    public var ownLoss: SeparationLoss {
        switch self {
        case .chandna, .tcn: return .chandna
        case .multitask, .sams: return .l1
        }
    }

    /// Choices within a family that the papers compare.
    public struct Options: Sendable {
        /// Sams-Net: attention modules, heads, and frames per attention chunk (T / chunk
        /// slices); 0 modules of attention keeps the rest of each module.
        public var attention = true
        public var modules = 2
        public var heads = 4
        public var chunk = 16
        /// Multitask: one encoder shared by the decoders, or one per stem (independent networks).
        public var sharedEncoder = true
        /// Chandna: maps of the vertical and horizontal convolutions and units of the dense
        /// bottleneck (the paper's 50, 30 and 128). Every frame reaches the decoders through
        /// the vertical maps, so they bound how many spectral shapes a mask can take.
        public var verticalMaps = 50
        public var horizontalMaps = 30
        public var bottleneck = 128
        /// Temporal convolutional network: units per frame and residual blocks (block k
        /// spans 3 frames spaced 2^k apart, so 4 blocks see 31 frames).
        public var frameUnits = 256
        public var blocks = 4
        public init() {}
    }

    public func spec(settings: SeparatorSettings, options: Options = Options()) -> GraphSpec {
        switch self {
        case .chandna: return Self.chandna(settings, options)
        case .multitask: return Self.multitask(settings, sharedEncoder: options.sharedEncoder)
        case .sams: return Self.sams(settings, options)
        case .tcn: return Self.temporalConvolution(settings, options)
        }
    }

    private typealias Node = GraphSpec.Node

    private static func conv(_ filters: Int, _ kernel: [Int], stride: [Int] = [1, 1], padding: [Int] = [0, 0], groups: Int = 1) -> GraphSpec.LayerSpec {
        .convolution(filters: filters, kernel: kernel, stride: stride, padding: padding, dilation: [1, 1], groups: groups)
    }

    /// Chandna et al. (2017): a vertical convolution across all bins (1 × F, 50 maps), a
    /// horizontal one across 12 frames (30 maps), a dense bottleneck of 128 (sizes from
    /// `options`), and per stem a
    /// dense decoder and the two convolutions transposed; a sigmoid per stem, normalised
    /// across stems into soft masks by `SourceMasking`.
    static func chandna(_ settings: SeparatorSettings, _ options: Options = Options()) -> GraphSpec {
        let t = settings.frames, f = settings.bins, horizontal = 12, width = t - horizontal + 1
        let verticalMaps = options.verticalMaps, horizontalMaps = options.horizontalMaps
        var nodes: [Node] = [
            Node("encoder/vertical", conv(verticalMaps, [1, f]), inputs: ["mixture"]),
            Node("encoder/horizontal", conv(horizontalMaps, [horizontal, 1]), inputs: ["encoder/vertical"]),
            Node("encoder/flat", .reshape(shape: [1, horizontalMaps * width]), inputs: ["encoder/horizontal"]),
            Node("encoder/bottleneck", .dense(units: options.bottleneck), inputs: ["encoder/flat"]),
            Node("encoder/bottleneck_relu", .relu, inputs: ["encoder/bottleneck"]),
        ]
        var outputs: [String] = []
        for stem in settings.stems {
            let p = "decoder_\(stem.rawValue)/"
            nodes += [
                Node(p + "dense", .dense(units: horizontalMaps * width), inputs: ["encoder/bottleneck_relu"]),
                Node(p + "dense_relu", .relu, inputs: [p + "dense"]),
                Node(p + "planes", .reshape(shape: [horizontalMaps, width, 1]), inputs: [p + "dense_relu"]),
                Node(p + "horizontal", .transposedConvolution(filters: verticalMaps, kernel: [horizontal, 1], stride: [1, 1], padding: [0, 0], outputPadding: [0, 0]), inputs: [p + "planes"]),
                Node(p + "horizontal_relu", .relu, inputs: [p + "horizontal"]),
                Node(p + "vertical", .transposedConvolution(filters: 1, kernel: [1, f], stride: [1, 1], padding: [0, 0], outputPadding: [0, 0]), inputs: [p + "horizontal_relu"]),
            ]
            outputs.append(p + "vertical")
        }
        nodes.append(Node("stems", .concat, inputs: outputs))
        nodes.append(Node("masks", .sigmoid, inputs: ["stems"]))
        return GraphSpec(inputs: [.init(name: "mixture", shape: [1, t, f])], nodes: nodes, outputs: ["masks"])
    }

    /// A shared encoder (or one per stem, for independent training) with one U-Net decoder per stem: five stride-2 stages of 3×3
    /// convolutions (16 to 256 maps) with batch norm and LeakyReLU(0.2); each decoder
    /// upsamples (nearest), convolves, normalises, and concatenates the encoder's skip.
    static func multitask(_ settings: SeparatorSettings, sharedEncoder: Bool) -> GraphSpec {
        let widths = [16, 32, 64, 128, 256]
        var nodes: [Node] = []
        func encoder(_ prefix: String) -> [String] {
            var previous = "mixture", skips: [String] = []
            for (index, width) in widths.enumerated() {
                let p = "\(prefix)/stage\(index + 1)/"
                nodes += [
                    Node(p + "conv", conv(width, [3, 3], stride: [2, 2], padding: [1, 1]), inputs: [previous]),
                    Node(p + "norm", .batchNorm, inputs: [p + "conv"]),
                    Node(p + "act", .leakyReLU(slope: 0.2), inputs: [p + "norm"]),
                ]
                previous = p + "act"
                skips.append(previous)
            }
            return skips
        }
        let shared = sharedEncoder ? encoder("encoder") : []
        var outputs: [String] = []
        for stem in settings.stems {
            let skips = sharedEncoder ? shared : encoder("encoder_\(stem.rawValue)")
            var x = skips.last!
            for (level, width) in widths.dropLast().reversed().enumerated() {
                let p = "decoder_\(stem.rawValue)/stage\(level + 1)/"
                nodes += [
                    Node(p + "up", .upsample(factor: [2, 2]), inputs: [x]),
                    Node(p + "conv", conv(width, [3, 3], padding: [1, 1]), inputs: [p + "up"]),
                    Node(p + "norm", .batchNorm, inputs: [p + "conv"]),
                    Node(p + "act", .leakyReLU(slope: 0.2), inputs: [p + "norm"]),
                    Node(p + "skip", .concat, inputs: [p + "act", skips[widths.count - 2 - level]]),
                ]
                x = p + "skip"
            }
            let p = "decoder_\(stem.rawValue)/output/"
            nodes += [
                Node(p + "up", .upsample(factor: [2, 2]), inputs: [x]),
                Node(p + "conv", conv(1, [3, 3], padding: [1, 1]), inputs: [p + "up"]),
            ]
            outputs.append(p + "conv")
        }
        nodes.append(Node("stems", .concat, inputs: outputs))
        nodes.append(Node("masks", .sigmoid, inputs: ["stems"]))
        return GraphSpec(inputs: [.init(name: "mixture", shape: [1, settings.frames, settings.bins])], nodes: nodes, outputs: ["masks"])
    }

    /// Sams-Net, sized for two CPU cores: a front end of 3×3 convolutions that halves the
    /// frequency axis twice (so attention runs over F/4 bins with 8 maps), then modules of
    /// sliced attention (each map's frames attend within chunks) with a residual, a 3×3
    /// merge convolution, a depthwise separable convolution and layer norm with a residual;
    /// transposed convolutions restore the bins, one sigmoid plane per stem. Masks multiply
    /// the mixture.
    static func sams(_ settings: SeparatorSettings, _ options: Options) -> GraphSpec {
        let channels = 8, f = settings.bins, t = settings.frames
        var nodes: [Node] = [
            Node("front/conv1", conv(channels, [3, 3], stride: [2, 1], padding: [1, 1]), inputs: ["mixture"]),
            Node("front/act1", .relu, inputs: ["front/conv1"]),
            Node("front/conv2", conv(channels, [3, 3], stride: [2, 1], padding: [1, 1]), inputs: ["front/act1"]),
            Node("front/act2", .relu, inputs: ["front/conv2"]),
        ]
        var x = "front/act2"
        for module in 0..<options.modules {
            let p = "module\(module + 1)/"
            var attended = x
            if options.attention {
                nodes += [
                    Node(p + "attention", .slicedAttention(heads: options.heads, chunk: options.chunk), inputs: [x]),
                    Node(p + "attention_residual", .add, inputs: [p + "attention", x]),
                ]
                attended = p + "attention_residual"
            }
            nodes += [
                Node(p + "merge", conv(channels, [3, 3], padding: [1, 1]), inputs: [attended]),
                Node(p + "merge_act", .relu, inputs: [p + "merge"]),
                Node(p + "depthwise", conv(channels, [3, 3], padding: [1, 1], groups: channels), inputs: [p + "merge_act"]),
                Node(p + "pointwise", conv(channels, [1, 1]), inputs: [p + "depthwise"]),
                Node(p + "residual", .add, inputs: [p + "pointwise", attended]),
                Node(p + "norm", .layerNorm, inputs: [p + "residual"]),
            ]
            x = p + "norm"
        }
        nodes += [
            Node("back/up1", .transposedConvolution(filters: channels, kernel: [4, 3], stride: [2, 1], padding: [1, 1], outputPadding: [0, 0]), inputs: [x]),
            Node("back/act1", .relu, inputs: ["back/up1"]),
            Node("back/up2", .transposedConvolution(filters: settings.stems.count, kernel: [4, 3], stride: [2, 1], padding: [1, 1], outputPadding: [0, 0]), inputs: ["back/act1"]),
            Node("masks", .sigmoid, inputs: ["back/up2"]),
        ]
        _ = t
        return GraphSpec(inputs: [.init(name: "mixture", shape: [1, f, t])], nodes: nodes, outputs: ["masks"])
    }

    /// A temporal convolutional network over spectrogram frames. Each frame's bins are
    /// embedded by a dense layer (a 1 × F convolution to `frameUnits` maps), residual
    /// blocks of 3-frame convolutions with dilations 1, 2, 4, … give every frame the
    /// context around it (as the dilated stacks of Conv-TasNet's separator do, in place of
    /// Open-Unmix's LSTM, which runs poorly on two cores), and the embedding joined to the
    /// context is turned back, per frame, into one sigmoid plane per stem over all bins.
    /// Chandna's network squeezes a 30-frame chunk through 128 units; here every frame
    /// keeps its own `frameUnits`. Batch norm follows every convolution but the last.
    static func temporalConvolution(_ settings: SeparatorSettings, _ options: Options) -> GraphSpec {
        let f = settings.bins, units = options.frameUnits
        var nodes: [Node] = [
            Node("embedding/dense", conv(units, [1, f]), inputs: ["mixture"]),
            Node("embedding/norm", .batchNorm, inputs: ["embedding/dense"]),
            Node("embedding/act", .relu, inputs: ["embedding/norm"]),
        ]
        var x = "embedding/act"
        for block in 0..<options.blocks {
            let p = "block\(block + 1)/", dilation = 1 << block
            nodes += [
                Node(p + "conv", .convolution(filters: units, kernel: [3, 1], stride: [1, 1], padding: [dilation, 0],
                                              dilation: [dilation, 1], groups: 1), inputs: [x]),
                Node(p + "norm", .batchNorm, inputs: [p + "conv"]),
                Node(p + "act", .relu, inputs: [p + "norm"]),
                Node(p + "residual", .add, inputs: [p + "act", x]),
            ]
            x = p + "residual"
        }
        nodes += [
            Node("decoder/skip", .concat, inputs: [x, "embedding/act"]),
            Node("decoder/dense", conv(units, [1, 1]), inputs: ["decoder/skip"]),
            Node("decoder/norm", .batchNorm, inputs: ["decoder/dense"]),
            Node("decoder/act", .relu, inputs: ["decoder/norm"]),
            Node("decoder/bins", .transposedConvolution(filters: settings.stems.count, kernel: [1, f], stride: [1, 1], padding: [0, 0], outputPadding: [0, 0]),
                 inputs: ["decoder/act"]),
            Node("masks", .sigmoid, inputs: ["decoder/bins"]),
        ]
        return GraphSpec(inputs: [.init(name: "mixture", shape: [1, settings.frames, f])], nodes: nodes, outputs: ["masks"])
    }
}
