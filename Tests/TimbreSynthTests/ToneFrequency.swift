/// Frequency of a steady tone from its rising zero crossings (interpolated).
func frequency(_ x: ArraySlice<Float>, rate: Double = 44_100) -> Double {
    var crossings: [Double] = []
    for i in x.indices.dropFirst() where x[i - 1] < 0 && x[i] >= 0 {
        crossings.append(Double(i - 1) + Double(-x[i - 1] / (x[i] - x[i - 1])))
    }
    guard crossings.count > 2 else { return 0 }
    return Double(crossings.count - 1) / ((crossings.last! - crossings.first!) / rate)
}
