/// 3×3 "same" convolution of a single-channel image, computed directly with vector
/// multiply-adds along each row.
///
/// A spectrogram has one channel, so the first layer's im2col matrix has only nine rows:
/// too thin for a matrix product to run near peak. Direct loops keep the image (about
/// 70 KB, padded) in cache and touch each output value once.
enum DirectConvolution {
    typealias Vector = SIMD16<Float>
    static let lanes = Vector.scalarCount

    /// The image with one zero pixel of padding on every side, rows `stride` apart;
    /// rows are long enough for whole-vector loads past the last column.
    struct PaddedImage {
        let stride: Int
        let pointer: UnsafeMutablePointer<Float>

        static func capacity(height: Int, width: Int) -> Int { (height + 2) * rowStride(width: width) }
        static func rowStride(width: Int) -> Int { (width + 2 + DirectConvolution.lanes + 15) / 16 * 16 }

        /// Copies `image` ([height × width]) into `buffer` with its padding.
        init(_ image: UnsafePointer<Float>, height: Int, width: Int, buffer: UnsafeMutablePointer<Float>) {
            stride = Self.rowStride(width: width)
            pointer = buffer
            buffer.update(repeating: 0, count: Self.capacity(height: height, width: width))
            for y in 0..<height { (buffer + (y + 1) * stride + 1).update(from: image + y * width, count: width) }
        }

        /// Sixteen pixels from padded row `row`, column `column` (both counted with padding).
        @inline(__always) func load(_ row: Int, _ column: Int) -> Vector {
            UnsafeRawPointer(pointer + (row &* stride &+ column)).loadUnaligned(as: Vector.self)
        }
    }

    /// The nine weights of one filter as splatted vectors.
    struct Taps {
        let w00, w01, w02, w10, w11, w12, w20, w21, w22: Vector
        init(_ w: UnsafePointer<Float>) {
            (w00, w01, w02) = (Vector(repeating: w[0]), Vector(repeating: w[1]), Vector(repeating: w[2]))
            (w10, w11, w12) = (Vector(repeating: w[3]), Vector(repeating: w[4]), Vector(repeating: w[5]))
            (w20, w21, w22) = (Vector(repeating: w[6]), Vector(repeating: w[7]), Vector(repeating: w[8]))
        }
    }

    /// output[f] = bias[f] + Σ weight[f] ⋆ image, optionally through max(0, ·).
    static func forward(_ image: PaddedImage, height: Int, width: Int, weights: UnsafePointer<Float>, biases: UnsafePointer<Float>,
                        filters: Int, relu: Bool, into output: UnsafeMutablePointer<Float>) {
        let pixels = height * width
        var tail = Vector()
        for f in 0..<filters {
            let taps = Taps(weights + 9 * f), bias = Vector(repeating: biases[f])
            let plane = output + f * pixels
            for y in 0..<height {
                var x = 0
                while x < width {
                    // Padded coordinates: output (y, x) sees rows y…y+2, columns x…x+2.
                    var sum = bias
                    multiplyAdd(&sum, taps.w00, image.load(y, x)); multiplyAdd(&sum, taps.w01, image.load(y, x + 1)); multiplyAdd(&sum, taps.w02, image.load(y, x + 2))
                    multiplyAdd(&sum, taps.w10, image.load(y + 1, x)); multiplyAdd(&sum, taps.w11, image.load(y + 1, x + 1)); multiplyAdd(&sum, taps.w12, image.load(y + 1, x + 2))
                    multiplyAdd(&sum, taps.w20, image.load(y + 2, x)); multiplyAdd(&sum, taps.w21, image.load(y + 2, x + 1)); multiplyAdd(&sum, taps.w22, image.load(y + 2, x + 2))
                    if relu { sum.replace(with: 0, where: sum .< 0) }
                    let target = plane + y * width + x
                    if x + lanes <= width {
                        UnsafeMutableRawPointer(target).storeBytes(of: sum, as: Vector.self)
                    } else {
                        tail = sum
                        for lane in 0..<(width - x) { target[lane] = tail[lane] }
                    }
                    x += lanes
                }
            }
        }
    }

    /// Weights [filters × 9] regrouped as [9][filters], so that one tap of eight filters
    /// is one vector load; for `forwardPooledChannelsLast`.
    static func tapMajor(_ weights: UnsafePointer<Float>, filters: Int) -> [Float] {
        var taps = [Float](repeating: 0, count: 9 * filters)
        for f in 0..<filters {
            for k in 0..<9 { taps[k * filters + f] = weights[9 * f + k] }
        }
        return taps
    }

    /// max-pool₂ₓ₂(max(0, bias[f] + weight[f] ⋆ image)) written channels-last
    /// ([height/2][width/2][filters], filters a multiple of 8): inference's conv → ReLU →
    /// pool for the single-channel layer, vectorised over filters (16 per vector on AVX-512
    /// builds when the count allows). `taps` comes from
    /// `tapMajor`. Each value is summed in the order `forward` uses, so the results equal
    /// the unfused layers' exactly.
    static func forwardPooledChannelsLast(_ image: PaddedImage, height: Int, width: Int, taps: UnsafePointer<Float>, biases: UnsafePointer<Float>,
                                          filters: Int, into output: UnsafeMutablePointer<Float>) {
        #if TIMBRE_AVX512
        if filters % 16 == 0 {
            return forwardPooledChannelsLast(image, height: height, width: width, taps: taps, biases: biases, filters: filters, into: output, lanes: SIMD16<Float>.self)
        }
        #endif
        forwardPooledChannelsLast(image, height: height, width: width, taps: taps, biases: biases, filters: filters, into: output, lanes: SIMD8<Float>.self)
    }

    /// `forwardPooledChannelsLast` with `Lanes.scalarCount` filters per vector.
    @inline(__always)
    private static func forwardPooledChannelsLast<Lanes: FloatLanes>(_ image: PaddedImage, height: Int, width: Int, taps: UnsafePointer<Float>, biases: UnsafePointer<Float>,
                                                               filters: Int, into output: UnsafeMutablePointer<Float>, lanes: Lanes.Type) {
        let group = Lanes.scalarCount
        precondition(filters % group == 0, "channels-last output needs a multiple of \(group) filters")
        let (pooledHeight, pooledWidth) = (height / 2, width / 2)
        @inline(__always) func tap(_ k: Int, _ f: Int) -> Lanes { UnsafeRawPointer(taps + k * filters + f).loadUnaligned(as: Lanes.self) }
        @inline(__always) func pixel(_ row: Int, _ column: Int) -> Lanes { Lanes(repeating: image.pointer[row &* image.stride &+ column]) }
        for oy in 0..<pooledHeight {
            for ox in 0..<pooledWidth {
                // The window's four outputs (2oy + a, 2ox + b) see padded rows 2oy + a + dy and
                // columns 2ox + b + dx.
                let (y, x) = (2 * oy, 2 * ox)
                let target = output + (oy * pooledWidth + ox) * filters
                var f = 0
                while f < filters {
                    // Two vectors of filters at once (eight independent sums); an odd last
                    // vector is computed twice and stored once.
                    let g = min(f + group, filters - group)
                    let biasF = UnsafeRawPointer(biases + f).loadUnaligned(as: Lanes.self)
                    let biasG = UnsafeRawPointer(biases + g).loadUnaligned(as: Lanes.self)
                    var f00 = biasF, f01 = biasF, f10 = biasF, f11 = biasF
                    var g00 = biasG, g01 = biasG, g10 = biasG, g11 = biasG
                    for dy in 0..<3 {
                        for dx in 0..<3 {
                            let k = 3 * dy + dx, wf = tap(k, f), wg = tap(k, g)
                            let p00 = pixel(y + dy, x + dx), p01 = pixel(y + dy, x + 1 + dx)
                            let p10 = pixel(y + 1 + dy, x + dx), p11 = pixel(y + 1 + dy, x + 1 + dx)
                            multiplyAdd(&f00, wf, p00); multiplyAdd(&f01, wf, p01); multiplyAdd(&f10, wf, p10); multiplyAdd(&f11, wf, p11)
                            multiplyAdd(&g00, wg, p00); multiplyAdd(&g01, wg, p01); multiplyAdd(&g10, wg, p10); multiplyAdd(&g11, wg, p11)
                        }
                    }
                    let pooledF = f00.larger(f01).larger(f10.larger(f11)).clampedAtZero()
                    let pooledG = g00.larger(g01).larger(g10.larger(g11)).clampedAtZero()
                    UnsafeMutableRawPointer(target + f).storeBytes(of: pooledF, as: Lanes.self)
                    UnsafeMutableRawPointer(target + g).storeBytes(of: pooledG, as: Lanes.self)
                    f += 2 * group
                }
            }
        }
    }

    /// Adds ∂L/∂weight ([filters × 9]) and ∂L/∂bias ([filters]) for one image into
    /// `weightGradient` and `biasGradient`; with `relu`, the gradient is first zeroed where
    /// `output` was clipped.
    static func weightGradient(_ image: PaddedImage, height: Int, width: Int, outputGradient: UnsafePointer<Float>,
                               output: UnsafePointer<Float>?, filters: Int,
                               weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>) {
        let pixels = height * width
        for f in 0..<filters {
            var g00 = Vector(), g01 = Vector(), g02 = Vector(), g10 = Vector(), g11 = Vector(), g12 = Vector()
            var g20 = Vector(), g21 = Vector(), g22 = Vector(), gb = Vector()
            let plane = outputGradient + f * pixels
            for y in 0..<height {
                var x = 0
                while x < width {
                    let source = plane + y * width + x
                    var d: Vector
                    if x + lanes <= width {
                        d = UnsafeRawPointer(source).loadUnaligned(as: Vector.self)
                        if let output {
                            let clipped = UnsafeRawPointer(output + f * pixels + y * width + x).loadUnaligned(as: Vector.self) .<= 0
                            d.replace(with: 0, where: clipped)
                        }
                    } else {
                        d = Vector()
                        for lane in 0..<(width - x) where output.map({ $0[f * pixels + y * width + x + lane] > 0 }) ?? true { d[lane] = source[lane] }
                    }
                    gb += d
                    multiplyAdd(&g00, d, image.load(y, x)); multiplyAdd(&g01, d, image.load(y, x + 1)); multiplyAdd(&g02, d, image.load(y, x + 2))
                    multiplyAdd(&g10, d, image.load(y + 1, x)); multiplyAdd(&g11, d, image.load(y + 1, x + 1)); multiplyAdd(&g12, d, image.load(y + 1, x + 2))
                    multiplyAdd(&g20, d, image.load(y + 2, x)); multiplyAdd(&g21, d, image.load(y + 2, x + 1)); multiplyAdd(&g22, d, image.load(y + 2, x + 2))
                    x += lanes
                }
            }
            let target = weightGradient + 9 * f
            target[0] += g00.sum(); target[1] += g01.sum(); target[2] += g02.sum()
            target[3] += g10.sum(); target[4] += g11.sum(); target[5] += g12.sum()
            target[6] += g20.sum(); target[7] += g21.sum(); target[8] += g22.sum()
            biasGradient[f] += gb.sum()
        }
    }

    /// sum += a · b, fused where the build targets a CPU with fused multiply-add.
    @inline(__always)
    static func multiplyAdd<V: SIMD>(_ sum: inout V, _ a: V, _ b: V) where V.Scalar == Float {
        #if TIMBRE_FMA
        sum.addProduct(a, b)
        #else
        sum += a * b
        #endif
    }
}
