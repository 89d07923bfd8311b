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
        /// 4 zero-padded input rows, each `rowCapacity` long.
        var rows: UnsafeMutablePointer<Float>
        /// Bᵀ d of 8 tiles: 4 rows × 4 columns of vectors.
        let rowTransform: UnsafeMutablePointer<SIMD8<Float>>
        private(set) var rowCapacity = 0
        private var capacity = 0

        init() {
            v = .allocate(capacity: 1)
            m = .allocate(capacity: 1)
            rows = .allocate(capacity: 1)
            rowTransform = .allocate(capacity: 16)
            rowTransform.initialize(repeating: SIMD8(), count: 16)
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
            // Two columns per tile, one of padding, and a 16-value load's reach past the end.
            let needed = (2 * tileColumns + 1 + 2 + 16 + 7) / 8 * 8
            if needed > rowCapacity {
                rows.deallocate()
                rows = .allocate(capacity: 4 * needed)
                rows.initialize(repeating: 0, count: 4 * needed)
                rowCapacity = needed
            }
        }

        deinit { v.deallocate(); m.deallocate(); rows.deallocate(); rowTransform.deallocate() }
    }

    /// Tile rows per band: about 512 KB of transformed input and products.
    static func bandTileRows(channels: Int, outputs: Int, tileColumns: Int) -> Int {
        max(1, (1 << 17) / max(1, 16 * max(channels, outputs) * tileColumns))
    }

    /// output[o] = bias[o] + Σ_i input[i] ⋆ kernel[o, i], zero padding, one image,
    /// optionally through max(0, ·).
    /// - Parameters:
    ///   - u: filters from `transformFilters`, [16][outputs][channels].
    ///   - bias: one value per output, or nil for none.
    ///   - pooled: write the 2×2 max-pool of the result instead ([outputs × height/2 ×
    ///     width/2]): each 2×2 tile of output is one pooling window, so inference's
    ///     conv → ReLU → pool never stores the full-size output.
    static func convolve(_ input: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                         u: UnsafePointer<Float>, outputs: Int, into output: UnsafeMutablePointer<Float>,
                         bias: UnsafePointer<Float>?, relu: Bool, pooled: Bool = false, workspace: Workspace) {
        let tileRows = (height + 1) / 2, tileColumns = (width + 1) / 2
        let band = bandTileRows(channels: channels, outputs: outputs, tileColumns: tileColumns)
        workspace.reserve(16 * max(channels, outputs) * band * tileColumns, tileColumns: tileColumns)
        let pixels = height * width, m = workspace.m
        let (pooledHeight, pooledWidth) = (height / 2, width / 2)
        for firstTileRow in stride(from: 0, to: tileRows, by: band) {
            let rows = min(band, tileRows - firstTileRow)
            let tiles = rows * tileColumns
            let vStride = channels * tiles
            let v = transformInput(input, channels: channels, height: height, width: width, firstTileRow: firstTileRow, rows: rows, workspace: workspace)
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
                let offset = SIMD16<Float>(repeating: bias?[o] ?? 0), pooledOffset = SIMD8<Float>(repeating: bias?[o] ?? 0)
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
                        if pooled {
                            if y0 / 2 < pooledHeight && tc < pooledWidth {
                                let top = pooledOffset + y00.larger(y01), bottom = pooledOffset + y10.larger(y11)
                                var window = top.larger(bottom)
                                if relu { window.replace(with: 0, where: window .< 0) }
                                let target = output + (o * pooledHeight + y0 / 2) * pooledWidth + tc
                                let count = min(8, pooledWidth - tc)
                                if count == 8 {
                                    UnsafeMutableRawPointer(target).storeBytes(of: window, as: SIMD8<Float>.self)
                                } else {
                                    for lane in 0..<count { target[lane] = window[lane] }
                                }
                            }
                            tc += 8
                            continue
                        }
                        let line = plane + y0 * width, x0 = 2 * tc
                        var top = interleave(y00, y01) + offset, bottom = interleave(y10, y11) + offset
                        if relu {
                            top.replace(with: 0, where: top .< 0)
                            bottom.replace(with: 0, where: bottom .< 0)
                        }
                        if x0 + 16 <= width {
                            UnsafeMutableRawPointer(line + x0).storeBytes(of: top, as: SIMD16<Float>.self)
                            if fullRows { UnsafeMutableRawPointer(line + width + x0).storeBytes(of: bottom, as: SIMD16<Float>.self) }
                        } else {
                            for lane in 0..<(width - x0) {
                                line[x0 + lane] = top[lane]
                                if fullRows { line[width + x0 + lane] = bottom[lane] }
                            }
                        }
                        tc += 8
                    }
                }
            }
        }
    }

    /// Adds one image's filter gradient in the transformed domain, dU[ξ] += dM[ξ] · V[ξ]ᵀ
    /// ([16][outputs][channels]), where dM = A dY Aᵀ for each 2×2 block of the output
    /// gradient dY and V is the forward pass's input transform: the adjoint of
    /// `convolve`, with the same 2.25× saving. Also adds Σ dY of every output to `biasGradient`.
    /// `filterGradient` maps dU back to kernels.
    static func accumulateFilterGradient(_ input: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                                         outputGradient: UnsafePointer<Float>, outputs: Int,
                                         into dU: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>,
                                         workspace: Workspace) {
        let tileRows = (height + 1) / 2, tileColumns = (width + 1) / 2
        let band = bandTileRows(channels: channels, outputs: outputs, tileColumns: tileColumns)
        workspace.reserve(16 * max(channels, outputs) * band * tileColumns, tileColumns: tileColumns)
        let pixels = height * width, dM = workspace.m
        for firstTileRow in stride(from: 0, to: tileRows, by: band) {
            let rows = min(band, tileRows - firstTileRow)
            let tiles = rows * tileColumns
            let v = transformInput(input, channels: channels, height: height, width: width, firstTileRow: firstTileRow, rows: rows, workspace: workspace)
            let mStride = outputs * tiles
            for o in 0..<outputs {
                let plane = outputGradient + o * pixels
                var biasSum = SIMD16<Float>()
                for tr in 0..<rows {
                    let y0 = 2 * (firstTileRow + tr)
                    let target = dM + o * tiles + tr * tileColumns
                    var tc = 0
                    while tc < tileColumns {
                        // Sixteen output columns = eight 2×2 blocks; zeros past the edge.
                        let top = loadRow(plane + y0 * width, from: 2 * tc, width: width)
                        let bottom = y0 + 1 < height ? loadRow(plane + (y0 + 1) * width, from: 2 * tc, width: width) : SIMD16()
                        biasSum += top + bottom
                        let g00 = top.evenHalf, g01 = top.oddHalf, g10 = bottom.evenHalf, g11 = bottom.oddHalf
                        let lanes = min(8, tileColumns - tc)
                        // Row r of A g, then (A g) Aᵀ: columns h0, h0 + h1, h0 − h1, −h1.
                        @inline(__always) func emit(_ r: Int, _ h0: SIMD8<Float>, _ h1: SIMD8<Float>) {
                            store(h0, target + (4 * r) * mStride + tc, lanes)
                            store(h0 + h1, target + (4 * r + 1) * mStride + tc, lanes)
                            store(h0 - h1, target + (4 * r + 2) * mStride + tc, lanes)
                            store(-h1, target + (4 * r + 3) * mStride + tc, lanes)
                        }
                        // A g: rows g0, g0 + g1, g0 − g1, −g1.
                        emit(0, g00, g01)
                        emit(1, g00 + g10, g01 + g11)
                        emit(2, g00 - g10, g01 - g11)
                        emit(3, -g10, -g11)
                        tc += 8
                    }
                }
                biasGradient[o] += biasSum.sum()
            }
            // dU[ξ] += dM[ξ] · V[ξ]ᵀ: [outputs × tiles] · [tiles × channels].
            for xi in 0..<16 {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(outputs), Int32(channels), Int32(tiles),
                            1, dM + xi * mStride, Int32(tiles), v + xi * channels * tiles, Int32(tiles),
                            1, dU + xi * outputs * channels, Int32(channels))
            }
        }
    }

    /// Adds Gᵀ dU G, the kernel gradient of transformed-filter gradients dU
    /// ([16][filters][channels]), to `kernelGradient` ([filters, channels, 3, 3]).
    static func addFilterGradient(_ dU: UnsafePointer<Float>, filters: Int, channels: Int, to kernelGradient: UnsafeMutablePointer<Float>) {
        let stride = filters * channels
        for f in 0..<filters {
            for c in 0..<channels {
                @inline(__always) func d(_ xi: Int) -> Float { dU[xi * stride + f * channels + c] }
                // Gᵀ dU: 3 × 4, one column at a time (no per-pair allocations).
                var q = (SIMD4<Float>(), SIMD4<Float>(), SIMD4<Float>())
                for col in 0..<4 {
                    let d0 = d(col), d1 = d(4 + col), d2 = d(8 + col), d3 = d(12 + col)
                    q.0[col] = d0 + 0.5 * (d1 + d2)
                    q.1[col] = 0.5 * (d1 - d2)
                    q.2[col] = 0.5 * (d1 + d2) + d3
                }
                // (Gᵀ dU) G: 3 × 3.
                let kernel = kernelGradient + (f * channels + c) * 9
                for row in 0..<3 {
                    let r = row == 0 ? q.0 : row == 1 ? q.1 : q.2
                    let q0 = r[0], q1 = r[1], q2 = r[2], q3 = r[3]
                    kernel[3 * row] += q0 + 0.5 * (q1 + q2)
                    kernel[3 * row + 1] += 0.5 * (q1 - q2)
                    kernel[3 * row + 2] += 0.5 * (q1 + q2) + q3
                }
            }
        }
    }


    /// (a0, b0, a1, b1, …): two tiles' columns side by side, as they lie in an image row.
    @inline(__always)
    private static func interleave(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD16<Float> {
        SIMD16(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3], a[4], b[4], a[5], b[5], a[6], b[6], a[7], b[7])
    }

    /// Sixteen values of `line` from column `x`, zeros at and past `width`.
    @inline(__always)
    private static func loadRow(_ line: UnsafePointer<Float>, from x: Int, width: Int) -> SIMD16<Float> {
        if x + 16 <= width { return UnsafeRawPointer(line + x).loadUnaligned(as: SIMD16<Float>.self) }
        var values = SIMD16<Float>()
        for lane in 0..<max(0, min(16, width - x)) { values[lane] = line[x + lane] }
        return values
    }

    /// V = Bᵀ d B for every channel and 4×4 input tile of tile rows
    /// `firstTileRow ..< firstTileRow + rows`, into the workspace; layout [16][channels][tiles].
    static func transformInput(_ input: UnsafePointer<Float>, channels: Int, height: Int, width: Int, firstTileRow: Int, rows: Int,
                               workspace: Workspace) -> UnsafeMutablePointer<Float> {
        let tileColumns = (width + 1) / 2, tiles = rows * tileColumns, vStride = channels * tiles, pixels = height * width
        let v = workspace.v, rowBuffer = workspace.rows, rowStride = workspace.rowCapacity
        // Bᵀ d for 8 tiles: 4 rows × 4 columns of vectors.
        let t = workspace.rowTransform
        for c in 0..<channels {
            let plane = input + c * pixels
            for tr in 0..<rows {
                let top = 2 * (firstTileRow + tr) - 1
                // Padded input rows: pad[0] = 0 (x = −1), pad[1 + x] = row[x], zeros after. Tile t
                // reads pad[2t … 2t + 3]: the even and odd halves of two 16-value loads give those
                // four columns for eight tiles at once.
                let used = rowStride
                for r in 0..<4 {
                    let pad = rowBuffer + r * rowStride
                    let y = top + r
                    guard y >= 0 && y < height else {
                        pad.update(repeating: 0, count: used)
                        continue
                    }
                    pad[0] = 0
                    (pad + 1).update(from: plane + y * width, count: width)
                    (pad + 1 + width).update(repeating: 0, count: used - 1 - width)
                }
                let target = v + c * tiles + tr * tileColumns
                var tc = 0
                while tc < tileColumns {
                    @inline(__always) func load(_ r: Int, _ k: Int) -> SIMD8<Float> {
                        let values = UnsafeRawPointer(rowBuffer + r * rowStride + 2 * tc + (k & 2)).loadUnaligned(as: SIMD16<Float>.self)
                        return k & 1 == 0 ? values.evenHalf : values.oddHalf
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
        return v
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
