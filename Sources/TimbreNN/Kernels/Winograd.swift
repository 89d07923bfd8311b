import COpenBLAS
import TimbreVectorKernels

/// 3×3 "same" convolution by Winograd's minimal filtering F(4×4, 3×3) (Lavin & Gray, 2015):
/// each 4×4 block of output comes from a 6×6 block of input with 36 multiplications per
/// (input, output) channel pair instead of 144. Transformed input V = Bᵀ d B and filters
/// U = G g Gᵀ meet in 36 independent matrix products M[ξ] = U[ξ] · V[ξ] (one `cblas_sgemm`
/// each, over a band of tiles that stays in cache), and Y = Aᵀ M A gives the outputs.
/// The transforms use the interpolation points 0, ±1, ±2 and ∞; in single precision the
/// result is within about 1e-6 of the largest output's magnitude for 64 channels.
enum Winograd {
    /// Values per transformed tile (6 × 6), the number of matrix products per band.
    static let tileElements = 36

    /// Transforms kernels [outChannels, inChannels, 3, 3] into U, laid out [36][out][in], or
    /// [36][in][out] with `inputMajor` (for `convolvePooledChannelsLast`).
    /// With `flipped`, uses the kernels rotated by 180° and with in/out swapped, which turns
    /// the layer's forward convolution into the one that back-propagates to its input.
    static func transformFilters(_ kernels: UnsafePointer<Float>, filters: Int, channels: Int, flipped: Bool, inputMajor: Bool = false) -> [Float] {
        let (outs, ins) = flipped ? (channels, filters) : (filters, channels)
        var u = [Float](repeating: 0, count: tileElements * outs * ins)
        /// G applied to three values: the filter at the six interpolation points.
        @inline(__always) func g(_ g0: Float, _ g1: Float, _ g2: Float) -> (Float, Float, Float, Float, Float, Float) {
            (g0 / 4, -(g0 + g1 + g2) / 6, -(g0 - g1 + g2) / 6, g0 / 24 + g1 / 12 + g2 / 6, g0 / 24 - g1 / 12 + g2 / 6, g2)
        }
        for o in 0..<outs {
            for i in 0..<ins {
                @inline(__always) func k(_ dy: Int, _ dx: Int) -> Float {
                    flipped ? kernels[((i * channels + o) * 3 + (2 - dy)) * 3 + (2 - dx)] : kernels[((o * channels + i) * 3 + dy) * 3 + dx]
                }
                // G g, column by column: 6 × 3, then (G g) Gᵀ: 6 × 6, row by row.
                let c0 = g(k(0, 0), k(1, 0), k(2, 0)), c1 = g(k(0, 1), k(1, 1), k(2, 1)), c2 = g(k(0, 2), k(1, 2), k(2, 2))
                @inline(__always) func emit(_ row: Int, _ t: (Float, Float, Float, Float, Float, Float)) {
                    let first = row * 6 * outs * ins + (inputMajor ? i * outs + o : o * ins + i), step = outs * ins
                    u[first] = t.0; u[first + step] = t.1; u[first + 2 * step] = t.2
                    u[first + 3 * step] = t.3; u[first + 4 * step] = t.4; u[first + 5 * step] = t.5
                }
                emit(0, g(c0.0, c1.0, c2.0)); emit(1, g(c0.1, c1.1, c2.1)); emit(2, g(c0.2, c1.2, c2.2))
                emit(3, g(c0.3, c1.3, c2.3)); emit(4, g(c0.4, c1.4, c2.4)); emit(5, g(c0.5, c1.5, c2.5))
            }
        }
        return u
    }

    /// Scratch for one worker: transformed input and products of one band of tiles, a
    /// band's rows split into column phases, and the partial transforms of eight tiles.
    final class Workspace {
        var v: UnsafeMutablePointer<Float>
        var m: UnsafeMutablePointer<Float>
        /// Rows split by `splitPhases`, `phaseStride` values per phase of a row.
        var phases: UnsafeMutablePointer<Float>
        /// One zero-padded row on its way to `phases`.
        var paddedRow: UnsafeMutablePointer<Float>
        /// Half-transformed values of 8 tiles (up to 6 × 6 vectors) and 4 × 4 outputs.
        let scratch: UnsafeMutablePointer<SIMD8<Float>>
        private(set) var phaseStride = 0, paddedRowLength = 0
        private var capacity = 0, phaseCapacity = 0

        init() {
            v = .allocate(capacity: 1)
            m = .allocate(capacity: 1)
            phases = .allocate(capacity: 1)
            paddedRow = .allocate(capacity: 1)
            scratch = .allocate(capacity: 64)
            scratch.initialize(repeating: SIMD8(), count: 64)
        }

        func reserve(_ size: Int, tileColumns: Int, bandRows: Int) {
            if size > capacity {
                v.deallocate(); m.deallocate()
                // Vector loads and stores may run up to 8 values past the last tile.
                v = .allocate(capacity: size + 8)
                m = .allocate(capacity: size + 8)
                m.initialize(repeating: 0, count: size + 8)
                capacity = size
            }
            // One value per tile and one more (a tile's fifth and sixth columns are the next
            // tile's first and second), and the reach of a vector load from the last group.
            phaseStride = (tileColumns + 1 + 7) / 8 * 8 + 8
            // Whole groups of eight tiles, four columns each.
            let rowLength = 4 * ((tileColumns + 1 + 7) / 8 * 8)
            if rowLength > paddedRowLength {
                paddedRow.deallocate()
                paddedRow = .allocate(capacity: rowLength)
                paddedRowLength = rowLength
            }
            // The band's input rows with a row of padding above and below.
            let needed = (4 * bandRows + 2) * 4 * phaseStride
            if needed > phaseCapacity {
                phases.deallocate()
                phases = .allocate(capacity: needed)
                // Values past a row's last tile are never written: zeros, not stray denormals.
                phases.initialize(repeating: 0, count: needed)
                phaseCapacity = needed
            }
        }

        deinit { v.deallocate(); m.deallocate(); phases.deallocate(); paddedRow.deallocate(); scratch.deallocate() }
    }

    /// Values from one transformed element's plane to the next in the workspace: room for
    /// the whole-vector stores that run past a plane's last tile, and an offset of 16 values
    /// from a 4 KB multiple so that a tile's 36 values do not all fall in one L1 cache set.
    static func planeStride(_ values: Int) -> Int {
        (values + 1023) / 1024 * 1024 + 16
    }

    /// Tile rows per band: about 64 tiles, where OpenBLAS's kernels run fastest on these
    /// 64 × 64 products (measured: 64–68 columns reach about 1.4× the speed of 51 or 56,
    /// and powers of two from 128 up lose to cache-set conflicts), and at most about
    /// 1 MB of transformed input.
    static func bandTileRows(channels: Int, outputs: Int, tileColumns: Int) -> Int {
        let cacheLimit = max(1, (1 << 18) / max(1, tileElements * max(channels, outputs) * tileColumns))
        return max(1, min((64 + tileColumns / 2) / tileColumns, cacheLimit))
    }

    /// output[o] = bias[o] + Σ_i input[i] ⋆ kernel[o, i], zero padding, one image,
    /// optionally through max(0, ·).
    /// - Parameters:
    ///   - u: filters from `transformFilters`, [36][outputs][channels].
    ///   - bias: one value per output, or nil for none.
    static func convolve(_ input: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                         u: UnsafePointer<Float>, outputs: Int, into output: UnsafeMutablePointer<Float>,
                         bias: UnsafePointer<Float>?, relu: Bool, workspace: Workspace) {
        let tileRows = (height + 3) / 4, tileColumns = (width + 3) / 4
        let band = bandTileRows(channels: channels, outputs: outputs, tileColumns: tileColumns)
        workspace.reserve(tileElements * planeStride(max(channels, outputs) * band * tileColumns), tileColumns: tileColumns, bandRows: band)
        let pixels = height * width, m = workspace.m, t = workspace.scratch, y = workspace.scratch + 24
        for firstTileRow in stride(from: 0, to: tileRows, by: band) {
            let rows = min(band, tileRows - firstTileRow)
            let tiles = rows * tileColumns
            let vStride = planeStride(channels * tiles), mStride = planeStride(outputs * tiles)
            let v = transformInput(input, channels: channels, height: height, width: width, firstTileRow: firstTileRow, rows: rows, tileColumns: tileColumns, workspace: workspace)
            // M[ξ] = U[ξ] · V[ξ]: [outputs × channels] · [channels × tiles].
            for xi in 0..<tileElements {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(outputs), Int32(tiles), Int32(channels),
                            1, u + xi * outputs * channels, Int32(channels), v + xi * vStride, Int32(tiles),
                            0, m + xi * mStride, Int32(tiles))
            }
            // Y = Aᵀ M A, eight tiles at a time, cropped at the image's edge.
            for o in 0..<outputs {
                let plane = output + o * pixels
                let offset = SIMD16<Float>(repeating: bias?[o] ?? 0)
                for tr in 0..<rows {
                    let y0 = 4 * (firstTileRow + tr)
                    let source = m + o * tiles + tr * tileColumns
                    var tc = 0
                    while tc < tileColumns {
                        // Aᵀ M: 4 × 6, column by column; then (Aᵀ M) A: 4 × 4, row by row.
                        for j in 0..<6 {
                            @inline(__always) func at(_ i: Int) -> SIMD8<Float> {
                                UnsafeRawPointer(source + (6 * i + j) * mStride + tc).loadUnaligned(as: SIMD8<Float>.self)
                            }
                            let r = outputTransform(at(0), at(1), at(2), at(3), at(4), at(5))
                            t[j] = r.0; t[6 + j] = r.1; t[12 + j] = r.2; t[18 + j] = r.3
                        }
                        for i in 0..<4 {
                            let r = outputTransform(t[6 * i], t[6 * i + 1], t[6 * i + 2], t[6 * i + 3], t[6 * i + 4], t[6 * i + 5])
                            y[4 * i] = r.0; y[4 * i + 1] = r.1; y[4 * i + 2] = r.2; y[4 * i + 3] = r.3
                        }
                        let x0 = 4 * tc, count = min(32, width - x0)
                        for r in 0..<4 where y0 + r < height {
                            let a = y[4 * r], b = y[4 * r + 1], c = y[4 * r + 2], d = y[4 * r + 3]
                            // (a0, b0, c0, d0, a1, …): four columns of eight tiles, as they lie in a row.
                            var low = SIMD16(a[0], b[0], c[0], d[0], a[1], b[1], c[1], d[1], a[2], b[2], c[2], d[2], a[3], b[3], c[3], d[3]) + offset
                            var high = SIMD16(a[4], b[4], c[4], d[4], a[5], b[5], c[5], d[5], a[6], b[6], c[6], d[6], a[7], b[7], c[7], d[7]) + offset
                            if relu {
                                low.replace(with: 0, where: low .< 0)
                                high.replace(with: 0, where: high .< 0)
                            }
                            let target = plane + (y0 + r) * width + x0
                            if count == 32 {
                                UnsafeMutableRawPointer(target).storeBytes(of: low, as: SIMD16<Float>.self)
                                UnsafeMutableRawPointer(target + 16).storeBytes(of: high, as: SIMD16<Float>.self)
                            } else {
                                for lane in 0..<min(16, count) { target[lane] = low[lane] }
                                for lane in 0..<max(0, count - 16) { target[16 + lane] = high[lane] }
                            }
                        }
                        tc += 8
                    }
                }
            }
        }
    }

    /// Adds one image's filter gradient in the transformed domain, dU[ξ] += dM[ξ] · V[ξ]ᵀ
    /// ([36][outputs][channels]), where dM = A dY Aᵀ for each 4×4 block of the output
    /// gradient dY and V is the forward pass's input transform: the adjoint of
    /// `convolve`, with the same saving. Also adds Σ dY of every output to `biasGradient`.
    /// `addFilterGradient` maps dU back to kernels.
    static func accumulateFilterGradient(_ input: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                                         outputGradient: UnsafePointer<Float>, outputs: Int,
                                         into dU: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>,
                                         workspace: Workspace) {
        let tileRows = (height + 3) / 4, tileColumns = (width + 3) / 4
        let band = bandTileRows(channels: channels, outputs: outputs, tileColumns: tileColumns)
        workspace.reserve(tileElements * planeStride(max(channels, outputs) * band * tileColumns), tileColumns: tileColumns, bandRows: band)
        let pixels = height * width, dM = workspace.m, h = workspace.scratch
        for firstTileRow in stride(from: 0, to: tileRows, by: band) {
            let rows = min(band, tileRows - firstTileRow)
            let tiles = rows * tileColumns
            let v = transformInput(input, channels: channels, height: height, width: width, firstTileRow: firstTileRow, rows: rows, tileColumns: tileColumns, workspace: workspace)
            let mStride = planeStride(outputs * tiles), vStride = planeStride(channels * tiles)
            let split = workspace.phases, stride = workspace.phaseStride
            for o in 0..<outputs {
                let plane = outputGradient + o * pixels
                let firstRow = 4 * firstTileRow, lastRow = min(height, firstRow + 4 * rows)
                biasGradient[o] += sum(plane + firstRow * width, count: (lastRow - firstRow) * width)
                splitPhases(plane, height: height, width: width, firstRow: firstRow, rows: 4 * rows, shift: 0,
                            tileColumns: tileColumns, into: split, stride: stride, workspace: workspace)
                for tr in 0..<rows {
                    let target = dM + o * tiles + tr * tileColumns
                    var tc = 0
                    while tc < tileColumns {
                        // Four columns of four rows of eight 4×4 blocks; zeros past the edge.
                        @inline(__always) func g(_ r: Int, _ k: Int) -> SIMD8<Float> {
                            UnsafeRawPointer(split + ((4 * tr + r) * 4 + k) * stride + tc).loadUnaligned(as: SIMD8<Float>.self)
                        }
                        let g0 = (g(0, 0), g(0, 1), g(0, 2), g(0, 3)), g1 = (g(1, 0), g(1, 1), g(1, 2), g(1, 3))
                        let g2 = (g(2, 0), g(2, 1), g(2, 2), g(2, 3)), g3 = (g(3, 0), g(3, 1), g(3, 2), g(3, 3))
                        // A g: 6 × 4, column by column.
                        for (c, column) in [(g0.0, g1.0, g2.0, g3.0), (g0.1, g1.1, g2.1, g3.1), (g0.2, g1.2, g2.2, g3.2), (g0.3, g1.3, g2.3, g3.3)].enumerated() {
                            let r = adjointOutputTransform(column.0, column.1, column.2, column.3)
                            h[c] = r.0; h[4 + c] = r.1; h[8 + c] = r.2; h[12 + c] = r.3; h[16 + c] = r.4; h[20 + c] = r.5
                        }
                        // (A g) Aᵀ: 6 × 6, row by row; lanes past a row's end as in `transformInput`.
                        for i in 0..<6 {
                            let r = adjointOutputTransform(h[4 * i], h[4 * i + 1], h[4 * i + 2], h[4 * i + 3])
                            let row = target + 6 * i * mStride + tc
                            store(r.0, row)
                            store(r.1, row + mStride)
                            store(r.2, row + 2 * mStride)
                            store(r.3, row + 3 * mStride)
                            store(r.4, row + 4 * mStride)
                            store(r.5, row + 5 * mStride)
                        }
                        tc += 8
                    }
                }
            }
            // dU[ξ] += dM[ξ] · V[ξ]ᵀ: [outputs × tiles] · [tiles × channels].
            for xi in 0..<tileElements {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(outputs), Int32(channels), Int32(tiles),
                            1, dM + xi * mStride, Int32(tiles), v + xi * vStride, Int32(tiles),
                            1, dU + xi * outputs * channels, Int32(channels))
            }
        }
    }

    /// Adds Gᵀ dU G, the kernel gradient of transformed-filter gradients dU
    /// ([36][filters][channels]), to `kernelGradient` ([filters, channels, 3, 3]).
    static func addFilterGradient(_ dU: UnsafePointer<Float>, filters: Int, channels: Int, to kernelGradient: UnsafeMutablePointer<Float>) {
        let stride = filters * channels
        /// Gᵀ applied to six values.
        @inline(__always) func gT(_ d0: Float, _ d1: Float, _ d2: Float, _ d3: Float, _ d4: Float, _ d5: Float) -> (Float, Float, Float) {
            (d0 / 4 - (d1 + d2) / 6 + (d3 + d4) / 24, (d2 - d1) / 6 + (d3 - d4) / 12, (d3 + d4 - d1 - d2) / 6 + d5)
        }
        for f in 0..<filters {
            for c in 0..<channels {
                @inline(__always) func d(_ xi: Int) -> Float { dU[xi * stride + f * channels + c] }
                // Gᵀ dU: 3 × 6, one column at a time.
                var q = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
                for col in 0..<6 {
                    let r = gT(d(col), d(6 + col), d(12 + col), d(18 + col), d(24 + col), d(30 + col))
                    q.0[col] = r.0; q.1[col] = r.1; q.2[col] = r.2
                }
                // (Gᵀ dU) G: 3 × 3.
                let kernel = kernelGradient + (f * channels + c) * 9
                @inline(__always) func add(_ row: Int, _ r: SIMD8<Float>) {
                    let k = gT(r[0], r[1], r[2], r[3], r[4], r[5])
                    kernel[3 * row] += k.0
                    kernel[3 * row + 1] += k.1
                    kernel[3 * row + 2] += k.2
                }
                add(0, q.0); add(1, q.1); add(2, q.2)
            }
        }
    }

    /// V = Bᵀ d B for every channel and 6×6 input tile of tile rows
    /// `firstTileRow ..< firstTileRow + rows` and the first `tileColumns` tile columns, into
    /// the workspace; layout [36][channels][tiles], planes `planeStride` apart.
    static func transformInput(_ input: UnsafePointer<Float>, channels: Int, height: Int, width: Int, firstTileRow: Int, rows: Int,
                               tileColumns: Int, workspace: Workspace) -> UnsafeMutablePointer<Float> {
        let tiles = rows * tileColumns, vStride = planeStride(channels * tiles), pixels = height * width
        let v = workspace.v, split = workspace.phases, stride = workspace.phaseStride, e = workspace.scratch
        for c in 0..<channels {
            // The band's rows from one above its first output row, each split so that
            // phase k holds columns 4t + k − 1: a tile's six columns are phases 0…3 at t and
            // phases 0 and 1 at t + 1.
            splitPhases(input + c * pixels, height: height, width: width, firstRow: 4 * firstTileRow - 1, rows: 4 * rows + 2, shift: 1,
                        tileColumns: tileColumns, into: split, stride: stride, workspace: workspace)
            for tr in 0..<rows {
                let target = v + c * tiles + tr * tileColumns
                var tc = 0
                while tc < tileColumns {
                    // d B: each row's six columns.
                    for r in 0..<6 {
                        let row = split + (4 * tr + r) * 4 * stride + tc
                        @inline(__always) func x(_ k: Int, _ next: Int = 0) -> SIMD8<Float> {
                            UnsafeRawPointer(row + k * stride + next).loadUnaligned(as: SIMD8<Float>.self)
                        }
                        let t = inputTransform(x(0), x(1), x(2), x(3), x(0, 1), x(1, 1))
                        e[6 * r] = t.0; e[6 * r + 1] = t.1; e[6 * r + 2] = t.2; e[6 * r + 3] = t.3; e[6 * r + 4] = t.4; e[6 * r + 5] = t.5
                    }
                    // Bᵀ (d B): each column's six rows, one contiguous store of 8 tiles per element.
                    // Lanes past a row's last tile land on tiles stored later (the next row,
                    // the next channel) or on the plane's padding.
                    for j in 0..<6 {
                        let t = inputTransform(e[j], e[6 + j], e[12 + j], e[18 + j], e[24 + j], e[30 + j])
                        let column = target + j * vStride + tc
                        store(t.0, column)
                        store(t.1, column + 6 * vStride)
                        store(t.2, column + 12 * vStride)
                        store(t.3, column + 18 * vStride)
                        store(t.4, column + 24 * vStride)
                        store(t.5, column + 30 * vStride)
                    }
                    tc += 8
                }
            }
        }
        return v
    }

    /// Splits `rows` rows of a plane from `firstRow` by column phase:
    /// `split[(r * 4 + k) * stride + t]` = plane[firstRow + r][4t + k − shift], for t up to
    /// `tileColumns` inclusive, zero outside the plane. Strided tile columns become
    /// contiguous vectors for the transforms.
    private static func splitPhases(_ plane: UnsafePointer<Float>, height: Int, width: Int, firstRow: Int, rows: Int, shift: Int,
                                    tileColumns: Int, into split: UnsafeMutablePointer<Float>, stride: Int, workspace: Workspace) {
        let pad = workspace.paddedRow, padded = workspace.paddedRowLength
        for r in 0..<rows {
            let y = firstRow + r, target = split + r * 4 * stride
            guard y >= 0 && y < height else {
                for k in 0..<4 { (target + k * stride).update(repeating: 0, count: tileColumns + 1) }
                continue
            }
            // pad[shift + x] = row[x], zeros around it. Rows are short (16–65 values): an
            // inline vector copy, where a call to memmove cost more than the copy.
            pad.update(repeating: 0, count: shift)
            let row = plane + y * width
            var x = 0
            while x + 16 <= width {
                UnsafeMutableRawPointer(pad + shift + x).storeBytes(of: UnsafeRawPointer(row + x).loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                x += 16
            }
            while x < width { pad[shift + x] = row[x]; x += 1 }
            (pad + shift + width).update(repeating: 0, count: padded - shift - width)
            var t = 0
            while t <= tileColumns {
                // Thirty-two columns = four phases of eight tiles.
                let low = UnsafeRawPointer(pad + 4 * t).loadUnaligned(as: SIMD16<Float>.self)
                let high = UnsafeRawPointer(pad + 4 * t + 16).loadUnaligned(as: SIMD16<Float>.self)
                let even = SIMD16(lowHalf: low.evenHalf, highHalf: high.evenHalf), odd = SIMD16(lowHalf: low.oddHalf, highHalf: high.oddHalf)
                UnsafeMutableRawPointer(target + t).storeBytes(of: even.evenHalf, as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(target + stride + t).storeBytes(of: odd.evenHalf, as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(target + 2 * stride + t).storeBytes(of: even.oddHalf, as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(target + 3 * stride + t).storeBytes(of: odd.oddHalf, as: SIMD8<Float>.self)
                t += 8
            }
        }
    }

    /// Σ values[0 ..< count].
    private static func sum(_ values: UnsafePointer<Float>, count: Int) -> Float {
        var vector = SIMD8<Float>(), i = 0
        while i + 8 <= count {
            vector += UnsafeRawPointer(values + i).loadUnaligned(as: SIMD8<Float>.self)
            i += 8
        }
        var total = vector.sum()
        while i < count { total += values[i]; i += 1 }
        return total
    }

    /// Bᵀ applied to six values (a vector of tiles or channels at once).
    @inline(__always)
    static func inputTransform<V: FloatLanes>(_ x0: V, _ x1: V, _ x2: V, _ x3: V, _ x4: V, _ x5: V) -> (V, V, V, V, V, V) {
        let fourX2 = 4 * x2, twoX13 = 2 * (x1 - x3), x24 = x4 - x2
        return (4 * x0 - 5 * x2 + x4,
                x3 + x4 - 4 * x1 - fourX2,
                4 * x1 - fourX2 + x4 - x3,
                x24 - twoX13,
                x24 + twoX13,
                4 * x1 - 5 * x3 + x5)
    }

    /// Aᵀ applied to six values: four outputs.
    @inline(__always)
    static func outputTransform<V: FloatLanes>(_ m0: V, _ m1: V, _ m2: V, _ m3: V, _ m4: V, _ m5: V) -> (V, V, V, V) {
        let s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4
        return (m0 + s12 + s34, d12 + 2 * d34, s12 + 4 * s34, d12 + 8 * d34 + m5)
    }

    /// A applied to four values (the adjoint of `outputTransform`): six values.
    @inline(__always)
    private static func adjointOutputTransform(_ g0: SIMD8<Float>, _ g1: SIMD8<Float>, _ g2: SIMD8<Float>, _ g3: SIMD8<Float>)
        -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let even1 = g0 + g2, odd1 = g1 + g3, even2 = g0 + 4 * g2, odd2 = 2 * g1 + 8 * g3
        return (g0, even1 + odd1, even1 - odd1, even2 + odd2, even2 - odd2, g3)
    }

    /// Stores all eight lanes of `vector` at `target`, aligned or not.
    @inline(__always)
    private static func store(_ vector: SIMD8<Float>, _ target: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(target).storeBytes(of: vector, as: SIMD8<Float>.self)
    }
}

// MARK: - Channels-last inference

/// Winograd F(4×4, 3×3) for inference's fused conv → ReLU → 2×2 max-pool on images laid
/// out channels-last ([height][width][channels]).
///
/// With a pixel's channels side by side, the transforms (TimbreVectorKernels', chosen for
/// the CPU) work on vectors of 8 channels (16 with AVX-512, when the counts allow) as they
/// lie in memory: no column phases to split, no shuffles, and each tile's transformed values
/// are stored as whole vectors. The products become
/// M[ξ] = V[ξ] · U[ξ] with V [tiles × channels] and U [channels × outputs].
extension Winograd {
    /// max-pool₂ₓ₂(max(0, bias + kernels ⋆ input)) of one channels-last image
    /// ([height][width][channels] → [height/2][width/2][outputs]); channels and outputs are
    /// multiples of 8. `u` comes from `transformFilters(…, inputMajor: true)`. Equal to the
    /// channel-planar layers' values within single-precision rounding (the products sum
    /// the channels in another order).
    static func convolvePooledChannelsLast(_ input: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                                           u: UnsafePointer<Float>, outputs: Int, bias: UnsafePointer<Float>,
                                           into output: UnsafeMutablePointer<Float>, workspace: Workspace) {
        precondition(channels % 8 == 0 && outputs % 8 == 0, "channels-last Winograd needs multiples of 8 channels")
        let (pooledHeight, pooledWidth) = (height / 2, width / 2)
        // Tiles cover the outputs pooling reads; an odd last row or column is dropped.
        let tileRows = (2 * pooledHeight + 3) / 4, tileColumns = (2 * pooledWidth + 3) / 4
        let band = channelsLastBandRows(channels: channels, outputs: outputs, tileRows: tileRows, tileColumns: tileColumns)
        // V and M share 37 planes: V[ξ] sits in plane ξ + 1 and M[ξ] is written over plane ξ,
        // whose V[ξ - 1] has been used by then.
        let planeSize = planeStride(max(channels, outputs) * band * tileColumns)
        workspace.reserve((tileElements + 1) * planeSize, tileColumns: tileColumns, bandRows: band)
        let m = workspace.v, v = workspace.v + planeSize
        for firstTileRow in stride(from: 0, to: tileRows, by: band) {
            let rows = min(band, tileRows - firstTileRow)
            let tiles = rows * tileColumns
            // V = Bᵀ d B: V[ξ][tile][channel].
            timbre_winograd_transform_tiles(input, channels, height, width, firstTileRow, tiles, tileColumns, v, planeSize)
            // M[ξ] = V[ξ] · U[ξ]: [tiles × channels] · [channels × outputs].
            for xi in 0..<tileElements {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(tiles), Int32(outputs), Int32(channels),
                            1, v + xi * planeSize, Int32(channels), u + xi * channels * outputs, Int32(outputs),
                            0, m + xi * planeSize, Int32(outputs))
            }
            // Y = Aᵀ M A per tile, each 2×2 quarter a pooling window, with bias and ReLU.
            timbre_winograd_output_pooled(m, planeSize, outputs, firstTileRow, tiles, tileColumns, pooledHeight, pooledWidth, bias, output)
        }
    }

    /// Tile rows per band of `convolvePooledChannelsLast`: few enough that a band's shared
    /// V/M planes (about 40 K values) stay in a 1 MB L2 cache beside the layer's transformed
    /// filters (36 · channels · outputs values, 590 KB at 64 × 64), which every band reads
    /// again. Larger bands measured slower: their planes went out to L3 between the
    /// transforms and the products.
    static func channelsLastBandRows(channels: Int, outputs: Int, tileRows: Int, tileColumns: Int) -> Int {
        let tiles = max(1, 40_000 / ((tileElements + 1) * max(channels, outputs)))
        return max(1, min(tileRows, tiles / tileColumns))
    }
}
