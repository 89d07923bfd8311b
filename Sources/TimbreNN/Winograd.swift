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

    /// Scratch for one worker: transformed input and products of one band of tiles.
    final class Workspace {
        var v: UnsafeMutablePointer<Float>
        var m: UnsafeMutablePointer<Float>
        private var capacity: Int

        init() {
            capacity = 0
            v = .allocate(capacity: 1)
            m = .allocate(capacity: 1)
        }

        func reserve(_ size: Int) {
            guard size > capacity else { return }
            v.deallocate(); m.deallocate()
            v = .allocate(capacity: size)
            m = .allocate(capacity: size)
            capacity = size
        }

        deinit { v.deallocate(); m.deallocate() }
    }

    /// Writes one row of (Bᵀ d) B: the 4 column combinations of `t` to entries ξ = 4·row + col.
    @inline(__always)
    private static func store(_ t: SIMD4<Float>, row: Int, _ base: UnsafeMutablePointer<Float>, _ stride: Int) {
        base[(row * 4) * stride] = t[0] - t[2]
        base[(row * 4 + 1) * stride] = t[1] + t[2]
        base[(row * 4 + 2) * stride] = t[2] - t[1]
        base[(row * 4 + 3) * stride] = t[1] - t[3]
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
        workspace.reserve(16 * max(channels, outputs) * band * tileColumns)
        let v = workspace.v, m = workspace.m
        let pixels = height * width
        for firstTileRow in stride(from: 0, to: tileRows, by: band) {
            let rows = min(band, tileRows - firstTileRow)
            let tiles = rows * tileColumns
            // V = Bᵀ d B for every channel and tile of the band; layout [16][channels][tiles].
            for c in 0..<channels {
                let plane = input + c * pixels
                for tr in 0..<rows {
                    let top = 2 * (firstTileRow + tr) - 1
                    for tc in 0..<tileColumns {
                        let left = 2 * tc - 1
                        var d = (SIMD4<Float>(), SIMD4<Float>(), SIMD4<Float>(), SIMD4<Float>())
                        func row(_ r: Int) -> SIMD4<Float> {
                            let y = top + r
                            guard y >= 0 && y < height else { return SIMD4() }
                            let line = plane + y * width
                            if left >= 0 && left + 3 < width { return SIMD4(line[left], line[left + 1], line[left + 2], line[left + 3]) }
                            var values = SIMD4<Float>()
                            for k in 0..<4 where left + k >= 0 && left + k < width { values[k] = line[left + k] }
                            return values
                        }
                        d = (row(0), row(1), row(2), row(3))
                        // Bᵀ d combines rows; (Bᵀ d) B then combines columns.
                        let t0 = d.0 - d.2, t1 = d.1 + d.2, t2 = d.2 - d.1, t3 = d.1 - d.3
                        let tile = tr * tileColumns + tc
                        let base = v + c * tiles + tile, stride = channels * tiles
                        store(t0, row: 0, base, stride)
                        store(t1, row: 1, base, stride)
                        store(t2, row: 2, base, stride)
                        store(t3, row: 3, base, stride)
                    }
                }
            }
            // M[ξ] = U[ξ] · V[ξ]: [outputs × channels] · [channels × tiles].
            for xi in 0..<16 {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(outputs), Int32(tiles), Int32(channels),
                            1, u + xi * outputs * channels, Int32(channels), v + xi * channels * tiles, Int32(tiles),
                            0, m + xi * outputs * tiles, Int32(tiles))
            }
            // Y = Aᵀ M A, cropped at the image's edge.
            let stride = outputs * tiles
            for o in 0..<outputs {
                let plane = output + o * pixels
                let mo = m + o * tiles
                for tr in 0..<rows {
                    let y0 = 2 * (firstTileRow + tr)
                    let fullRows = y0 + 1 < height
                    for tc in 0..<tileColumns {
                        let p = mo + tr * tileColumns + tc
                        @inline(__always) func at(_ k: Int) -> Float { p[k * stride] }
                        // Aᵀ M: rows 0+1+2 and 1−2−3, for each of the 4 columns.
                        let a0 = at(0) + at(4) + at(8), a1 = at(1) + at(5) + at(9), a2 = at(2) + at(6) + at(10), a3 = at(3) + at(7) + at(11)
                        let b0 = at(4) - at(8) - at(12), b1 = at(5) - at(9) - at(13), b2 = at(6) - at(10) - at(14), b3 = at(7) - at(11) - at(15)
                        // (Aᵀ M) A: columns 0+1+2 and 1−2−3.
                        let y00 = a0 + a1 + a2, y01 = a1 - a2 - a3, y10 = b0 + b1 + b2, y11 = b1 - b2 - b3
                        let x0 = 2 * tc
                        let line = plane + y0 * width + x0
                        let fullColumns = x0 + 1 < width
                        if accumulate {
                            line[0] += y00
                            if fullColumns { line[1] += y01 }
                            if fullRows { line[width] += y10; if fullColumns { line[width + 1] += y11 } }
                        } else {
                            line[0] = y00
                            if fullColumns { line[1] = y01 }
                            if fullRows { line[width] = y10; if fullColumns { line[width + 1] = y11 } }
                        }
                    }
                }
            }
        }
    }
}
