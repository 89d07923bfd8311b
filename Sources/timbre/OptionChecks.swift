import ArgumentParser

/// Refuses a command-line number outside `range`, NaN and infinities included, with one
/// line naming the option; nil (an option not given) passes.
func requireOption<T: Comparable>(_ value: T?, _ name: String, in range: ClosedRange<T>) throws {
    guard let value else { return }
    guard range.contains(value) else {
        throw ValidationError("\(name) must be between \(range.lowerBound) and \(range.upperBound) (got \(value))")
    }
}
