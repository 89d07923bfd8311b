import Foundation

/// A one-line progress display on standard error: a bar, counts, a rate and an ETA.
///
/// Redraws at most ten times a second and only when standard error is a terminal, so logs
/// and pipes stay clean. Use from one thread.
public final class ProgressBar {
    public let total: Int
    public let unit: String
    private let enabled: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var drawn = false

    /// - Parameters:
    ///   - total: units of work (e.g. files) expected.
    ///   - unit: what is counted, for the display ("files").
    public init(total: Int, unit: String, enabled: Bool = Terminal.stderrIsInteractive) {
        self.total = total
        self.unit = unit
        self.enabled = enabled
    }

    /// Seconds since the bar was created.
    public var elapsed: Double { Date().timeIntervalSince(start) }

    /// Shows `done` of `total`, `detail` (e.g. "812 clips kept") and a rate figure.
    /// - Parameters:
    ///   - rate: (value, unit) for the speed shown, e.g. (clips so far, "clips").
    ///   - doneSinceStart: units finished in this run (excluding resumed ones), for the ETA.
    public func update(done: Int, detail: String, rate: (count: Int, unit: String), doneSinceStart: Int? = nil, force: Bool = false) {
        guard enabled else { return }
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        let seconds = max(elapsed, 1e-3)
        let fresh = doneSinceStart ?? done
        let remaining = total - done
        let eta = fresh > 0 ? Double(remaining) * seconds / Double(fresh) : .nan
        let speed = String(format: "%.1f %@/s", Double(rate.count) / seconds, rate.unit)
        let text = "\(done)/\(total) \(unit) | \(detail) | \(speed) | ETA \(Terminal.formatDuration(eta))"
        let width = Terminal.width
        let barWidth = max(10, min(30, width - text.count - 4))
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let filled = Int((fraction * Double(barWidth)).rounded(.down))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: barWidth - filled)
        var line = "\(bar) \(text)"
        if line.count > width - 1 { line = String(line.prefix(width - 1)) }
        Terminal.writeError("\r\u{1B}[2K\(line)")
        drawn = true
    }

    /// Clears the bar so ordinary lines can follow.
    public func clear() {
        guard enabled, drawn else { return }
        Terminal.writeError("\r\u{1B}[2K")
        drawn = false
    }

    /// Prints a message above the bar without garbling it.
    public func message(_ line: String) {
        clear()
        Terminal.printError(line)
    }
}
