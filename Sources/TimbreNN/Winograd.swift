import COpenBLAS

/// 3×3 "same" convolution by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, 2015):
/// each 2×2 block of output comes from a 4×4 block of input with 16 multiplications per
/// (input, output) channel pair instead of 36. Transformed input V = Bᵀ d B and filters
/// U = G g Gᵀ meet in 16 independent matrix products M[ξ] = U[ξ] · V[ξ] (one `cblas_sgemm`
/// each, over a band of tiles that stays in cache), and Y = Aᵀ M A gives the outputs.
enum Winograd {
    /// Transforms kernels [outChannels, inChannels, 3, 3] into U, laid out [16][out][in].
    /// With `flipped`, uses the kernels rotated by 180° and with in/out swapped, which turns
    /// the layer's forward convolution into the one that back-propagates to its input.
    static func transformFilters(_ kernels: UnsafePointer<Float>, filters: Int, channels: Int, flipped: Bool) -> [Float] {
        let (outs, ins) = flipped ? (channels, filters) : (filters, channels)
        var u = [Float](repeating: 0, count: 16 * outs * ins)
        for o in 0..<outs {
            for i in 0..<ins {
                var g = [Float](repeating: 0, count: 9)
                for dy in 0..<3 {
                    for dx in 0..<3 {
                        g[dy * 3 + dx] = flipped ? kernels[((i * channels + o) * 3 + (2 - dy)) * 3 + (2 - dx)] : kernels[((o * channels + i) * 3 + dy) * 3 + dx]
                    }
                }
                // G g: 4 × 3.
                var a = [Float](repeating: 0, count: 12)
                for col in 0..<3 {
                    let g0 = g[col], g1 = g[3 + col], g2 = g[6 + col]
                    a[col] = g0
                    a[3 + col] = (g0 + g1 + g2) * 0.5
                    a[6 + col] = (g0 - g1 + g2) * 0.5
                    a[9 + col] = g2
                }
                // (G g) Gᵀ: 4 × 4.
                for row in 0..<4 {
                    let a0 = a[row * 3], a1 = a[row * 3 + 1], a2 = a[row * 3 + 2]
                    let values = [a0, (a0 + a1 + a2) * 0.5, (a0 - a1 + a2) * 0.5, a2]
                    for col in 0..<4 { u[((row * 4 + col) * outs + o) * ins + i] = values[col] }
                }
            }
        }
        return u
    }

    /// Scratch for one worker: transformed input and products of one band of tiles, and
    /// de-interleaved input rows.
    final class Workspace {
        var v: UnsafeMutablePointer<Float>
        var m: UnsafeMutablePointer<Float>
        /// 4 rows × (even, odd) samples, each `rowCapacity` long.
        var rows: UnsafeMutablePointer<Float>
        private(set) var rowCapacity = 0
        private var capacity = 0

        init() {
            v = .allocate(capacity: 1)
            m = .allocate(capacity: 1)
            rows = .allocate(capacity: 1)
        }

        func reserve(_ size: Int, tileColumns: Int) {
            if size > capacity {
                v.deallocate(); m.deallocate()
                // Vector loads and stores may run up to 8 values past the last tile.
                v = .allocate(capacity: size + 8)
                m = .allocate(capacity: size + 8)
                m.initialize(repeating: 0, count: size + 8)
                capacity = size
            }
            let needed = (tileColumns + 1 + 8 + 7) / 8 * 8
            if needed > rowCapacity {
                rows.deallocate()
                rows = .allocate(capacity: 8 * needed)
                rows.initialize(repeating: 0, count: 8 * needed)
                rowCapacity = needed
            }
        }

        deinit { v.deallocate(); m.deallocate(); rows.deallocate() }
    }

    /// Tile rows per band: about 512 KB of transformed input and products.
    static func bandTileRows(channels: Int, outputs: Int, tileColumns: Int) -> Int {
        max(1, (1 << 17) / max(1, 16 * max(channels, outputs) * tileColumns))
    }

    /// output[o] (+)= Σ_i input[i] ⋆ kernel[o, i], zero padding, one image.
    /// - Parameters:
    ///   - u: filters from `transformFilters`, [16][outputs][channels].
    ///   - accumulate: add into `output` instead of overwriting it.
    static func convolve(_ input: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                         u: UnsafePointer<Float>, outputs: Int, into output: UnsafeMutablePointer<Float>,
                         accumulate: Bool, workspace: Workspace) {
        let tileRows = (height + 1) / 2, tileColumns = (width + 1) / 2
        let band = bandTileRows(channels: channels, outputs: outputs, tileColumns: tileColumns)
        workspace.reserve(16 * max(channels, outputs) * band * tileColumns, tileColumns: tileColumns)
        let v = workspace.v, m = workspace.m, rowBuffer = workspace.rows, rowStride = workspace.rowCapacity
        let pixels = height * width
        // Bᵀ d for 8 tiles: 4 rows × 4 columns of vectors.
        let t = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: 16)
        t.initialize(repeating: SIMD8(), count: 16)
        defer { t.deallocate() }
        for firstTileRow in stride(from: 0, to: tileRows, by: band) {
            let rows = min(band, tileRows - firstTileRow)
            let tiles = rows * tileColumns
            let vStride = channels * tiles
            // V = Bᵀ d B for every channel and tile of the band; layout [16][channels][tiles].
            for c in 0..<channels {
                let plane = input + c * pixels
                for tr in 0..<rows {
                    let top = 2 * (firstTileRow + tr) - 1
                    // Padded input row P[x], x from −1: even[j] = P[2j], odd[j] = P[2j − 1], so tile
                    // t reads odd[t], even[t], odd[t + 1], even[t + 1] — contiguous across tiles.
                    for r in 0..<4 {
                        let even = rowBuffer + (2 * r) * rowStride, odd = even + rowStride
                        let y = top + r
                        guard y >= 0 && y < height else {
                            even.update(repeating: 0, count: 2 * rowStride)
                            continue
                        }
                        let line = plane + y * width
                        for j in 0...tileColumns {
                            let e = 2 * j, o = 2 * j - 1
                            even[j] = e < width ? line[e] : 0
                            odd[j] = o >= 0 && o < width ? line[o] : 0
                        }
                    }
                    let target = v + c * tiles + tr * tileColumns
                    var tc = 0
                    while tc < tileColumns {
                        @inline(__always) func load(_ r: Int, _ k: Int) -> SIMD8<Float> {
                            let even = rowBuffer + (2 * r) * rowStride, odd = even + rowStride
                            let source: UnsafeMutablePointer<Float>
                            switch k {
                            case 0: source = odd + tc
                            case 1: source = even + tc
                            case 2: source = odd + tc + 1
                            default: source = even + tc + 1
                            }
                            return UnsafeRawPointer(source).loadUnaligned(as: SIMD8<Float>.self)
                        }
                        // Bᵀ d: combine rows (for each of the 4 columns k).
                        for k in 0..<4 {
                            let d0 = load(0, k), d1 = load(1, k), d2 = load(2, k), d3 = load(3, k)
                            t[k] = d0 - d2
                            t[4 + k] = d1 + d2
                            t[8 + k] = d2 - d1
                            t[12 + k] = d1 - d3
                        }
                        // (Bᵀ d) B: combine columns, one contiguous store of 8 tiles per element.
                        let lanes = min(8, tileColumns - tc)
                        for r in 0..<4 {
                            let t0 = t[4 * r], t1 = t[4 * r + 1], t2 = t[4 * r + 2], t3 = t[4 * r + 3]
                            let results = (t0 - t2, t1 + t2, t2 - t1, t1 - t3)
                            store(results.0, target + (4 * r) * vStride + tc, lanes)
                            store(results.1, target + (4 * r + 1) * vStride + tc, lanes)
                            store(results.2, target + (4 * r + 2) * vStride + tc, lanes)
                            store(results.3, target + (4 * r + 3) * vStride + tc, lanes)
                        }
                        tc += 8
                    }
                }
            }
            // M[ξ] = U[ξ] · V[ξ]: [outputs × channels] · [channels × tiles].
            for xi in 0..<16 {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(outputs), Int32(tiles), Int32(channels),
                            1, u + xi * outputs * channels, Int32(channels), v + xi * vStride, Int32(tiles),
                            0, m + xi * outputs * tiles, Int32(tiles))
            }
            // Y = Aᵀ M A, eight tiles at a time, cropped at the image's edge.
            let mStride = outputs * tiles
            for o in 0..<outputs {
                let plane = output + o * pixels
                for tr in 0..<rows {
                    let y0 = 2 * (firstTileRow + tr)
                    let fullRows = y0 + 1 < height
                    let source = m + o * tiles + tr * tileColumns
                    var tc = 0
                    while tc < tileColumns {
                        @inline(__always) func at(_ k: Int) -> SIMD8<Float> {
                            UnsafeRawPointer(source + k * mStride + tc).loadUnaligned(as: SIMD8<Float>.self)
                        }
                        // Aᵀ M: rows 0+1+2 and 1−2−3, for each of the 4 columns.
                        let a0 = at(0) + at(4) + at(8), a1 = at(1) + at(5) + at(9), a2 = at(2) + at(6) + at(10), a3 = at(3) + at(7) + at(11)
                        let b0 = at(4) - at(8) - at(12), b1 = at(5) - at(9) - at(13), b2 = at(6) - at(10) - at(14), b3 = at(7) - at(11) - at(15)
                        // (Aᵀ M) A: columns 0+1+2 and 1−2−3.
                        let y00 = a0 + a1 + a2, y01 = a1 - a2 - a3, y10 = b0 + b1 + b2, y11 = b1 - b2 - b3
                        let lanes = min(8, tileColumns - tc)
                        let line = plane + y0 * width
                        for lane in 0..<lanes {
                            let x0 = 2 * (tc + lane)
                            let fullColumns = x0 + 1 < width
                            if accumulate {
                                line[x0] += y00[lane]
                                if fullColumns { line[x0 + 1] += y01[lane] }
                                if fullRows { line[width + x0] += y10[lane]; if fullColumns { line[width + x0 + 1] += y11[lane] } }
                            } else {
                                line[x0] = y00[lane]
                                if fullColumns { line[x0 + 1] = y01[lane] }
                                if fullRows { line[width + x0] = y10[lane]; if fullColumns { line[width + x0 + 1] = y11[lane] } }
                            }
                        }
                        tc += 8
                    }
                }
            }
        }
    }

    /// Stores the first `lanes` values of `vector` at `target`.
    @inline(__always)
    private static func store(_ vector: SIMD8<Float>, _ target: UnsafeMutablePointer<Float>, _ lanes: Int) {
        if lanes == 8 {
            UnsafeMutableRawPointer(target).storeBytes(of: vector, as: SIMD8<Float>.self)
        } else {
            for lane in 0..<lanes { target[lane] = vector[lane] }
        }
    }
}
