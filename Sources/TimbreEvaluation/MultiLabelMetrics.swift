/// Metrics for clips that may carry several classes at once (IRMAS test excerpts,
/// MedleyDB mixes), from class probabilities and multi-hot truth.
public struct MultiLabelMetrics: Equatable, Sendable, Encodable {
    public let threshold: Double
    /// Per-class thresholds, when the decision used them instead of `threshold`.
    public let classThresholds: [Double]?
    public let microF1: Double
    public let macroF1: Double
    /// Label-ranking average precision: for each true label of a clip, the share of labels
    /// ranked at or above it that are true; averaged over labels, then clips (as sklearn).
    public let labelRankingAveragePrecision: Double
    public let clips: Int

    enum CodingKeys: String, CodingKey {
        case threshold, classThresholds = "class_thresholds", microF1 = "micro_f1", macroF1 = "macro_f1", labelRankingAveragePrecision = "lrap", clips
    }

    /// The classes predicted for one clip: every class with probability ≥ its threshold
    /// (`classThresholds[c]`, else `threshold`), and always at least the most probable one.
    public static func decide(_ probabilities: ArraySlice<Float>, threshold: Double, classThresholds: [Double]? = nil) -> Set<Int> {
        let base = probabilities.startIndex
        var chosen = Set(probabilities.indices.filter { Double(probabilities[$0]) >= classThresholds?[$0 - base] ?? threshold }.map { $0 - base })
        if let best = probabilities.indices.max(by: { probabilities[$0] < probabilities[$1] }) { chosen.insert(best - base) }
        return chosen
    }

    /// - Parameters:
    ///   - probabilities: [clips × classes], row-major.
    ///   - truth: the true class sets.
    ///   - classThresholds: one threshold per class, used instead of `threshold` when given.
    public init(probabilities: [Float], truth: [Set<Int>], classes: Int, threshold: Double, classThresholds: [Double]? = nil) {
        precondition(classThresholds == nil || classThresholds!.count == classes, "one threshold per class")
        let decisions = truth.indices.map { clip in
            Self.decide(probabilities[(clip * classes)..<((clip + 1) * classes)], threshold: threshold, classThresholds: classThresholds)
        }
        self.init(scores: probabilities, decisions: decisions, truth: truth, classes: classes, threshold: threshold, classThresholds: classThresholds)
    }

    /// The same metrics for decisions taken elsewhere (e.g. the tags of separated stems):
    /// F1 from `decisions`, LRAP from the ranking of `scores` ([clips × classes]).
    public init(scores probabilities: [Float], decisions: [Set<Int>], truth: [Set<Int>], classes: Int, threshold: Double, classThresholds: [Double]? = nil) {
        precondition(decisions.count == truth.count && probabilities.count == truth.count * classes)
        self.threshold = threshold
        self.classThresholds = classThresholds
        clips = truth.count
        var tp = [Int](repeating: 0, count: classes), fp = tp, fn = tp
        var lrapSum = 0.0
        for (clip, labels) in truth.enumerated() {
            let row = probabilities[(clip * classes)..<((clip + 1) * classes)]
            let predicted = decisions[clip]
            for c in 0..<classes {
                switch (predicted.contains(c), labels.contains(c)) {
                case (true, true): tp[c] += 1
                case (true, false): fp[c] += 1
                case (false, true): fn[c] += 1
                default: break
                }
            }
            guard !labels.isEmpty else { continue }
            var clipScore = 0.0
            for label in labels {
                let score = row[row.startIndex + label]
                let atOrAbove = row.indices.filter { row[$0] >= score }.map { $0 - row.startIndex }
                let trueAtOrAbove = atOrAbove.filter { labels.contains($0) }.count
                clipScore += Double(trueAtOrAbove) / Double(atOrAbove.count)
            }
            lrapSum += clipScore / Double(labels.count)
        }
        func f1(_ tp: Int, _ fp: Int, _ fn: Int) -> Double { tp == 0 ? 0 : 2 * Double(tp) / Double(2 * tp + fp + fn) }
        microF1 = f1(tp.reduce(0, +), fp.reduce(0, +), fn.reduce(0, +))
        let present = (0..<classes).filter { tp[$0] + fn[$0] > 0 }
        macroF1 = present.isEmpty ? 0 : present.reduce(0.0) { $0 + f1(tp[$1], fp[$1], fn[$1]) } / Double(present.count)
        let scored = truth.filter { !$0.isEmpty }.count
        labelRankingAveragePrecision = scored > 0 ? lrapSum / Double(scored) : 0
    }
}
