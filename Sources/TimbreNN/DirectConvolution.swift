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

    /// The padded image with its even and odd columns apart: row r's even columns
    /// (padded columns 0, 2, 4, …) then its odd ones, each half `halfStride` long. An
    /// output at an even column and its odd neighbour then read only contiguous vectors,
    /// and a 2×2 pooling window is a lane-wise maximum, with no shuffles.
    struct SplitImage {
        let halfStride: Int
        let pointer: UnsafeMutablePointer<Float>

        static func capacity(height: Int, width: Int) -> Int { (height + 2) * 2 * halfStride(width: width) }
        static func halfStride(width: Int) -> Int { (width / 2 + 2 + SIMD8<Float>.scalarCount + 7) / 8 * 8 }

        /// Copies `image` ([height × width]) into `buffer` with its padding.
        init(_ image: UnsafePointer<Float>, height: Int, width: Int, buffer: UnsafeMutablePointer<Float>) {
            halfStride = Self.halfStride(width: width)
            pointer = buffer
            buffer.update(repeating: 0, count: Self.capacity(height: height, width: width))
            for y in 0..<height {
                let even = buffer + (y + 1) * 2 * halfStride, odd = even + halfStride, row = image + y * width
                // Image column x is padded column x + 1.
                for x in 0..<width {
                    if x & 1 == 0 { odd[x >> 1] = row[x] } else { even[(x + 1) >> 1] = row[x] }
                }
            }
        }

        /// Eight values of padded row `row` from half-column `column`: even or odd columns.
        @inline(__always) func load(_ row: Int, odd: Bool, _ column: Int) -> SIMD8<Float> {
            UnsafeRawPointer(pointer + (row &* 2 &* halfStride &+ (odd ? halfStride : 0) &+ column)).loadUnaligned(as: SIMD8<Float>.self)
        }
    }

    /// max-pool₂ₓ₂(max(0, bias[f] + weight[f] ⋆ image)) without storing the full-size
    /// output: inference's conv → ReLU → pool in one pass ([filters × height/2 × width/2]).
    /// Each value is summed in the order `forward` uses, so the results are identical.
    static func forwardPooled(_ image: SplitImage, height: Int, width: Int, weights: UnsafePointer<Float>, biases: UnsafePointer<Float>,
                              filters: Int, into output: UnsafeMutablePointer<Float>) {
        typealias Lanes = SIMD8<Float>
        let (pooledHeight, pooledWidth) = (height / 2, width / 2)
        for f in 0..<filters {
            let w = weights + 9 * f
            let w00 = Lanes(repeating: w[0]), w01 = Lanes(repeating: w[1]), w02 = Lanes(repeating: w[2])
            let w10 = Lanes(repeating: w[3]), w11 = Lanes(repeating: w[4]), w12 = Lanes(repeating: w[5])
            let w20 = Lanes(repeating: w[6]), w21 = Lanes(repeating: w[7]), w22 = Lanes(repeating: w[8])
            let bias = Lanes(repeating: biases[f])
            let plane = output + f * pooledHeight * pooledWidth
            for oy in 0..<pooledHeight {
                let y = 2 * oy
                var j = 0
                while j < pooledWidth {
                    // Output column 2j sees padded columns 2j, 2j + 1, 2j + 2 (even j, odd j,
                    // even j + 1); column 2j + 1 sees odd j, even j + 1, odd j + 1.
                    @inline(__always) func add(_ even: inout Lanes, _ odd: inout Lanes, row r: Int, _ t0: Lanes, _ t1: Lanes, _ t2: Lanes) {
                        let e0 = image.load(r, odd: false, j), o0 = image.load(r, odd: true, j)
                        let e1 = image.load(r, odd: false, j + 1), o1 = image.load(r, odd: true, j + 1)
                        multiplyAdd(&even, t0, e0); multiplyAdd(&even, t1, o0); multiplyAdd(&even, t2, e1)
                        multiplyAdd(&odd, t0, o0); multiplyAdd(&odd, t1, e1); multiplyAdd(&odd, t2, o1)
                    }
                    @inline(__always) func pair(_ y: Int) -> Lanes {
                        var even = bias, odd = bias
                        add(&even, &odd, row: y, w00, w01, w02)
                        add(&even, &odd, row: y + 1, w10, w11, w12)
                        add(&even, &odd, row: y + 2, w20, w21, w22)
                        return even.larger(odd)
                    }
                    var pooled = pair(y).larger(pair(y + 1))
                    pooled.replace(with: 0, where: pooled .< 0)
                    let target = plane + oy * pooledWidth + j
                    if j + 8 <= pooledWidth {
                        UnsafeMutableRawPointer(target).storeBytes(of: pooled, as: Lanes.self)
                    } else {
                        for lane in 0..<(pooledWidth - j) { target[lane] = pooled[lane] }
                    }
                    j += 8
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
