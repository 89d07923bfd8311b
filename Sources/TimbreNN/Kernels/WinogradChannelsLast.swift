import COpenBLAS

/// Winograd F(4×4, 3×3) for inference's fused conv → ReLU → 2×2 max-pool on images laid
/// out channels-last ([height][width][channels]).
///
/// With a pixel's channels side by side, the transforms work on vectors of 8 channels (16
/// on AVX-512 builds, when the counts allow) as they lie in memory: no column phases to
/// split, no shuffles, and each tile's transformed values are stored as whole vectors. The products become
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
        #if TIMBRE_AVX512
        if channels % 16 == 0 && outputs % 16 == 0 {
            return withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: 40) { scratch in
                convolvePooledChannelsLast(input, channels: channels, height: height, width: width, u: u, outputs: outputs, bias: bias,
                                           into: output, workspace: workspace, scratch: scratch.baseAddress!)
            }
        }
        #endif
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 40) { scratch in
            convolvePooledChannelsLast(input, channels: channels, height: height, width: width, u: u, outputs: outputs, bias: bias,
                                       into: output, workspace: workspace, scratch: scratch.baseAddress!)
        }
    }

    /// `convolvePooledChannelsLast` on vectors of `Lanes.scalarCount` channels; `scratch`
    /// holds 40 vectors.
    @inline(__always)
    private static func convolvePooledChannelsLast<Lanes: FloatLanes>(_ input: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                                                                      u: UnsafePointer<Float>, outputs: Int, bias: UnsafePointer<Float>,
                                                                      into output: UnsafeMutablePointer<Float>, workspace: Workspace,
                                                                      scratch e: UnsafeMutablePointer<Lanes>) {
        let group = Lanes.scalarCount
        precondition(channels % group == 0 && outputs % group == 0, "channels-last Winograd needs multiples of \(group) channels")
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
            // V = Bᵀ d B, one vector of channels at a time: V[ξ][tile][channel].
            for tile in 0..<tiles {
                let y0 = 4 * (firstTileRow + tile / tileColumns) - 1, x0 = 4 * (tile % tileColumns) - 1
                let interior = y0 >= 0 && y0 + 6 <= height && x0 >= 0 && x0 + 6 <= width
                for c in stride(from: 0, to: channels, by: group) {
                    let corner = input + (y0 * width + x0) * channels + c
                    // Interior tiles load without bounds checks; edge tiles read zeros outside.
                    if interior {
                        transformTile(v + tile * channels + c, planeStride: planeSize, scratch: e) { i, j in
                            UnsafeRawPointer(corner + (i &* width &+ j) &* channels).loadUnaligned(as: Lanes.self)
                        }
                    } else {
                        transformTile(v + tile * channels + c, planeStride: planeSize, scratch: e) { i, j in
                            let y = y0 + i, x = x0 + j
                            guard y >= 0 && y < height && x >= 0 && x < width else { return Lanes() }
                            return UnsafeRawPointer(input + (y * width + x) * channels + c).loadUnaligned(as: Lanes.self)
                        }
                    }
                }
            }
            // M[ξ] = V[ξ] · U[ξ]: [tiles × channels] · [channels × outputs].
            for xi in 0..<tileElements {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(tiles), Int32(outputs), Int32(channels),
                            1, v + xi * planeSize, Int32(channels), u + xi * channels * outputs, Int32(outputs),
                            0, m + xi * planeSize, Int32(outputs))
            }
            // Y = Aᵀ M A per tile, one vector of outputs at a time; each 2×2 quarter is a pooling window.
            let t = e, y = e + 24
            for tile in 0..<tiles {
                let pooledRow = 2 * (firstTileRow + tile / tileColumns), pooledColumn = 2 * (tile % tileColumns)
                for o in stride(from: 0, to: outputs, by: group) {
                    let source = m + tile * outputs + o
                    for j in 0..<6 {
                        @inline(__always) func at(_ i: Int) -> Lanes {
                            UnsafeRawPointer(source + (6 &* i &+ j) &* planeSize).loadUnaligned(as: Lanes.self)
                        }
                        let r = outputTransform(at(0), at(1), at(2), at(3), at(4), at(5))
                        t[j] = r.0; t[6 + j] = r.1; t[12 + j] = r.2; t[18 + j] = r.3
                    }
                    for i in 0..<4 {
                        let r = outputTransform(t[6 * i], t[6 * i + 1], t[6 * i + 2], t[6 * i + 3], t[6 * i + 4], t[6 * i + 5])
                        y[4 * i] = r.0; y[4 * i + 1] = r.1; y[4 * i + 2] = r.2; y[4 * i + 3] = r.3
                    }
                    let offset = UnsafeRawPointer(bias + o).loadUnaligned(as: Lanes.self)
                    for a in 0..<2 where pooledRow + a < pooledHeight {
                        for b in 0..<2 where pooledColumn + b < pooledWidth {
                            let top = 8 * a + 2 * b, bottom = top + 4
                            let window = (y[top].larger(y[top + 1]).larger(y[bottom].larger(y[bottom + 1])) + offset).clampedAtZero()
                            let target = output + ((pooledRow + a) * pooledWidth + pooledColumn + b) * outputs + o
                            UnsafeMutableRawPointer(target).storeBytes(of: window, as: Lanes.self)
                        }
                    }
                }
            }
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

    /// V = Bᵀ d B of one 6×6 tile, one vector of channels: d(i, j) gives row i, column j; the 36
    /// results go to `target`, one plane per transformed element.
    @inline(__always)
    private static func transformTile<Lanes: FloatLanes>(_ target: UnsafeMutablePointer<Float>, planeStride: Int, scratch e: UnsafeMutablePointer<Lanes>,
                                                         _ d: (Int, Int) -> Lanes) {
        // d B: each row's six columns; then Bᵀ (d B): each column's six rows.
        for i in 0..<6 {
            let t = inputTransform(d(i, 0), d(i, 1), d(i, 2), d(i, 3), d(i, 4), d(i, 5))
            e[6 * i] = t.0; e[6 * i + 1] = t.1; e[6 * i + 2] = t.2; e[6 * i + 3] = t.3; e[6 * i + 4] = t.4; e[6 * i + 5] = t.5
        }
        for j in 0..<6 {
            let t = inputTransform(e[j], e[6 + j], e[12 + j], e[18 + j], e[24 + j], e[30 + j])
            @inline(__always) func put(_ i: Int, _ value: Lanes) {
                UnsafeMutableRawPointer(target + (6 &* i &+ j) &* planeStride).storeBytes(of: value, as: Lanes.self)
            }
            put(0, t.0); put(1, t.1); put(2, t.2); put(3, t.3); put(4, t.4); put(5, t.5)
        }
    }
}
