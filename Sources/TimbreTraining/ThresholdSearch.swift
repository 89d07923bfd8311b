import Foundation

/// Chooses the probability at or above which a class is reported as present.
///
/// Decisions always include the most probable class, plus every class at or above its
/// threshold. Candidates run from 0.05 to 0.95 in steps of 0.05; the lowest of the best
/// wins ties.
public enum ThresholdSearch {
    static let candidates = (1...19).map { Double($0) * 0.05 }

    /// One threshold for every class, maximising micro F1 over `truth`.
    /// - Parameters:
    ///   - probabilities: [clips × classes], row-major.
    ///   - truth: the classes present in each clip.
    public static func best(probabilities: [Float], truth: [Set<Int>], classes: Int) -> Double {
        var best = (threshold: 0.5, f1: -1.0)
        for threshold in candidates {
            var counts = Counts()
            for (clip, labels) in truth.enumerated() {
                let top = topClass(probabilities, clip: clip, classes: classes)
                for c in 0..<classes {
                    counts.add(chosen: c == top || Double(probabilities[clip * classes + c]) >= threshold, present: labels.contains(c))
                }
            }
            if counts.f1 > best.f1 + 1e-12 { best = (threshold, counts.f1) }
        }
        return best.threshold
    }

    /// A threshold per class, each maximising that class's F1 over `truth` (0.5 for a
    /// class validation never saw).
    public static func perClass(probabilities: [Float], truth: [Set<Int>], classes: Int) -> [Double] {
        let tops = truth.indices.map { topClass(probabilities, clip: $0, classes: classes) }
        return (0..<classes).map { c in
            guard truth.contains(where: { $0.contains(c) }) else { return 0.5 }
            var best = (threshold: 0.5, f1: -1.0)
            for threshold in candidates {
                var counts = Counts()
                for (clip, labels) in truth.enumerated() {
                    counts.add(chosen: tops[clip] == c || Double(probabilities[clip * classes + c]) >= threshold, present: labels.contains(c))
                }
                if counts.f1 > best.f1 + 1e-12 { best = (threshold, counts.f1) }
            }
            return best.threshold
        }
    }

    /// A threshold per class, chosen together for the highest micro F1 over `truth`: one
    /// class at a time takes the candidate that raises the pooled F1 most, in sweeps until
    /// no class moves. A class's decisions do not depend on the others' thresholds, so
    /// each class's counts at every candidate are taken once. Unlike `perClass`, a class
    /// that fires falsely in many clips is held back even where that costs its own F1, and
    /// a class no clip holds is raised until it stops adding false tags.
    /// - Parameter start: where the search starts (a model's recorded thresholds); a
    ///   class keeps its start unless a candidate is strictly better.
    public static func forMicroF1(probabilities: [Float], truth: [Set<Int>], classes: Int, start: [Double]) -> [Double] {
        precondition(start.count == classes && probabilities.count == truth.count * classes, "one start per class, one row per clip")
        let tops = truth.indices.map { topClass(probabilities, clip: $0, classes: classes) }
        func counts(_ c: Int, _ threshold: Double) -> Counts {
            var counts = Counts()
            for (clip, labels) in truth.enumerated() {
                counts.add(chosen: tops[clip] == c || Double(probabilities[clip * classes + c]) >= threshold, present: labels.contains(c))
            }
            return counts
        }
        let atCandidates = (0..<classes).map { c in candidates.map { counts(c, $0) } }
        var thresholds = start
        var current = (0..<classes).map { counts($0, start[$0]) }
        // Every move raises the pooled F1, so the sweeps end; the bound only caps the work.
        for _ in 0..<50 {
            var moved = false
            for c in 0..<classes {
                let others = current.indices.reduce(Counts()) { $1 == c ? $0 : $0 + current[$1] }
                var best = (others + current[c]).f1
                for (index, candidate) in candidates.enumerated() where (others + atCandidates[c][index]).f1 > best + 1e-12 {
                    best = (others + atCandidates[c][index]).f1
                    thresholds[c] = candidate
                    current[c] = atCandidates[c][index]
                    moved = true
                }
            }
            if !moved { break }
        }
        return thresholds
    }

    /// Micro F1 of the decisions at `thresholds` (the most probable class always chosen).
    public static func microF1(probabilities: [Float], truth: [Set<Int>], classes: Int, thresholds: [Double]) -> Double {
        var counts = Counts()
        for (clip, labels) in truth.enumerated() {
            let top = topClass(probabilities, clip: clip, classes: classes)
            for c in 0..<classes {
                counts.add(chosen: c == top || Double(probabilities[clip * classes + c]) >= thresholds[c], present: labels.contains(c))
            }
        }
        return counts.f1
    }

    private struct Counts {
        var tp = 0, fp = 0, fn = 0
        mutating func add(chosen: Bool, present: Bool) {
            if chosen && present { tp += 1 } else if chosen { fp += 1 } else if present { fn += 1 }
        }
        var f1: Double { tp == 0 ? 0 : 2 * Double(tp) / Double(2 * tp + fp + fn) }
        static func + (a: Counts, b: Counts) -> Counts { Counts(tp: a.tp + b.tp, fp: a.fp + b.fp, fn: a.fn + b.fn) }
    }

    private static func topClass(_ probabilities: [Float], clip: Int, classes: Int) -> Int {
        let row = probabilities[(clip * classes)..<((clip + 1) * classes)]
        return row.indices.max { row[$0] < row[$1] }! - clip * classes
    }

    /// The threshold recorded in a model's training summary, if any.
    public static func recorded(in summary: String) -> Double? {
        summaryObject(summary)?["threshold"] as? Double
    }

    /// The per-class thresholds recorded in a model's training summary, if any.
    public static func recordedPerClass(in summary: String) -> [Double]? {
        (summaryObject(summary)?["class_thresholds"] as? [Any])?.compactMap { ($0 as? NSNumber)?.doubleValue }
    }

    private static func summaryObject(_ summary: String) -> [String: Any]? {
        guard let data = summary.data(using: .utf8) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }
}
