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
        let tops = topClasses(probabilities, clips: truth.count, classes: classes)
        var best = (threshold: 0.5, f1: -1.0)
        for threshold in candidates {
            let f1 = pooledCounts(at: [Double](repeating: threshold, count: classes), probabilities, truth, tops, classes).f1
            if f1 > best.f1 + 1e-12 { best = (threshold, f1) }
        }
        return best.threshold
    }

    /// A threshold per class, each maximising that class's F1 over `truth` (0.5 for a
    /// class validation never saw).
    public static func perClass(probabilities: [Float], truth: [Set<Int>], classes: Int) -> [Double] {
        let tops = topClasses(probabilities, clips: truth.count, classes: classes)
        return (0..<classes).map { c in
            guard truth.contains(where: { $0.contains(c) }) else { return 0.5 }
            var best = (threshold: 0.5, f1: -1.0)
            for threshold in candidates {
                let f1 = classCounts(c, at: threshold, probabilities, truth, tops, classes).f1
                if f1 > best.f1 + 1e-12 { best = (threshold, f1) }
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
        let tops = topClasses(probabilities, clips: truth.count, classes: classes)
        let atCandidates = (0..<classes).map { c in candidates.map { classCounts(c, at: $0, probabilities, truth, tops, classes) } }
        var thresholds = start
        var current = (0..<classes).map { classCounts($0, at: start[$0], probabilities, truth, tops, classes) }
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
        pooledCounts(at: thresholds, probabilities, truth, topClasses(probabilities, clips: truth.count, classes: classes), classes).f1
    }

    /// Every class's decisions at its threshold, pooled.
    private static func pooledCounts(at thresholds: [Double], _ probabilities: [Float], _ truth: [Set<Int>], _ tops: [Int], _ classes: Int) -> Counts {
        (0..<classes).reduce(Counts()) { $0 + classCounts($1, at: thresholds[$1], probabilities, truth, tops, classes) }
    }

    /// Class `c`'s decisions over every clip at `threshold`, given each clip's top class.
    private static func classCounts(_ c: Int, at threshold: Double, _ probabilities: [Float], _ truth: [Set<Int>], _ tops: [Int], _ classes: Int) -> Counts {
        var counts = Counts()
        for (clip, labels) in truth.enumerated() {
            counts.add(chosen: tops[clip] == c || Double(probabilities[clip * classes + c]) >= threshold, present: labels.contains(c))
        }
        return counts
    }

    private struct Counts {
        var tp = 0, fp = 0, fn = 0
        mutating func add(chosen: Bool, present: Bool) {
            if chosen && present { tp += 1 } else if chosen { fp += 1 } else if present { fn += 1 }
        }
        var f1: Double { tp == 0 ? 0 : 2 * Double(tp) / Double(2 * tp + fp + fn) }
        static func + (a: Counts, b: Counts) -> Counts { Counts(tp: a.tp + b.tp, fp: a.fp + b.fp, fn: a.fn + b.fn) }
    }

    /// Each clip's most probable class, which is always chosen.
    private static func topClasses(_ probabilities: [Float], clips: Int, classes: Int) -> [Int] {
        (0..<clips).map { clip in
            let row = probabilities[(clip * classes)..<((clip + 1) * classes)]
            return row.indices.max { row[$0] < row[$1] }! - clip * classes
        }
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
