import Foundation
import TimbreCore

/// `timbre tag --plot`: one picture per file, each class's probability over time (one
/// line per class, broken where windows are under the gate), with the file's tags in the
/// title: what a user would rather look at than read.
public enum TimelinePlot {
    public static func picture(of tags: FileTags, classCodes: [String], classNames: [String]) -> VectorPicture {
        let left = 50.0, top = 48.0, plotWidth = 720.0, plotHeight = 260.0, legendWidth = 170.0
        var picture = VectorPicture(width: left + plotWidth + legendWidth, height: top + plotHeight + 50)
        picture.rect(x: 0, y: 0, width: picture.width, height: picture.height, fill: .white)
        let title = tags.isSilent ? tags.silenceNote : tags.tags.map { "\($0.name) \(String(format: "%.2f", $0.confidence))" }.joined(separator: ", ")
        picture.text((tags.path as NSString).lastPathComponent, x: left, y: 20, size: 14, style: .bold)
        picture.text(title, x: left, y: 38, size: 11)
        let duration = max(tags.duration, tags.timeline.map(\.end).max() ?? 0, 1e-3)
        func x(_ seconds: Double) -> Double { left + plotWidth * seconds / duration }
        func y(_ probability: Double) -> Double { top + plotHeight * (1 - probability) }
        // Axes, grid and ticks.
        for tick in stride(from: 0.0, through: 1.0, by: 0.25) {
            picture.lines([[(left, y(tick)), (left + plotWidth, y(tick))]], colour: tick == 0 ? .black : .grey, lineWidth: tick == 0 ? 1 : 0.5)
            picture.text(String(format: "%.2f", tick), x: left - 6, y: y(tick) + 4, size: 10, anchor: .end)
        }
        picture.lines([[(left, top), (left, top + plotHeight)]], colour: .black, lineWidth: 1)
        let step = niceStep(duration / 8)
        for tick in stride(from: 0.0, through: duration + 1e-9, by: step) {
            picture.text(clock(tick), x: x(tick), y: top + plotHeight + 16, size: 10, anchor: .middle)
        }
        picture.text("time", x: left + plotWidth / 2, y: top + plotHeight + 36, size: 11, anchor: .middle, style: .italic)
        picture.text("probability", x: 14, y: top + plotHeight / 2, size: 11, anchor: .middle, rotation: 90, style: .italic)
        // One series per class: a point at each window's centre, a gap at silent windows.
        for (index, code) in classCodes.enumerated() {
            var parts: [[(Double, Double)]] = [[]]
            for window in tags.timeline {
                guard !window.isSilent, window.scores.count == classCodes.count else {
                    if !(parts.last?.isEmpty ?? true) { parts.append([]) }
                    continue
                }
                parts[parts.count - 1].append((x((window.start + window.end) / 2), y(window.scores[index])))
            }
            // A lone window still shows as a short level line across it.
            if tags.timeline.count == 1, let window = tags.timeline.first, !window.isSilent, window.scores.count == classCodes.count {
                parts = [[(x(window.start), y(window.scores[index])), (x(window.end), y(window.scores[index]))]]
            }
            let colour = VectorPicture.Colour.series(index)
            picture.lines(parts, colour: colour, lineWidth: 1.5, dashed: index >= 10, label: code)
            let legendY = top + 8 + Double(index) * 18
            picture.lines([[(left + plotWidth + 16, legendY - 4), (left + plotWidth + 40, legendY - 4)]], colour: colour, lineWidth: 2, dashed: index >= 10)
            picture.text(classNames[index], x: left + plotWidth + 46, y: legendY, size: 11)
        }
        return picture
    }

    /// 1, 2 or 5 times a power of ten, at least `raw`.
    private static func niceStep(_ raw: Double) -> Double {
        guard raw > 0 else { return 1 }
        let power = pow(10, floor(log10(raw)))
        return [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
    }

    private static func clock(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        return whole >= 60 ? String(format: "%d:%02d", whole / 60, whole % 60) : "\(whole) s"
    }
}
