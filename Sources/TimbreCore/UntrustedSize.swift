/// Arithmetic on sizes read from files, which may be anything: results saturate at
/// `Int.max` instead of trapping, so they can be compared with a limit and refused.
public enum UntrustedSize {
    /// The product of `sizes`, or `Int.max` when it overflows.
    public static func product(_ sizes: [Int]) -> Int {
        sizes.reduce(1) { total, size in
            let (result, overflow) = total.multipliedReportingOverflow(by: size)
            return overflow ? Int.max : result
        }
    }
}
