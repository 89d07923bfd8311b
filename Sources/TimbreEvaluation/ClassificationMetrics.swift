/// Single-label classification metrics from a confusion matrix.
public struct ClassificationMetrics: Equatable, Sendable {
    public struct PerClass: Equatable, Sendable, Encodable {
        public var precision: Double
        public var recall: Double
        public var f1: Double
        public var support: Int
    }

    public struct PerFamily: Equatable, Sendable, Encodable {
        /// Clips of the family whose predicted class is exactly right.
        public var classAccuracy: Double
        /// Clips of the family predicted as some instrument of the same family.
        public var familyAccuracy: Double
        public var support: Int

        enum CodingKeys: String, CodingKey {
            case classAccuracy = "class_accuracy", familyAccuracy = "family_accuracy", support
        }
    }

    /// confusion[true][predicted] counts.
    public let confusion: [[Int]]
    public let perClass: [PerClass]
    public let clips: Int
    public let accuracy: Double
    /// Mean F1 over classes that occur (in truth or prediction).
    public let macroF1: Double
    /// F1 over all decisions pooled; for single-label data it equals accuracy.
    public let microF1: Double

    public var top1Error: Double { 1 - accuracy }

    public init(confusion: [[Int]]) {
        self.confusion = confusion
        let classes = confusion.count
        let total = confusion.reduce(0) { $0 + $1.reduce(0, +) }
        clips = total
        var perClass: [PerClass] = []
        var correct = 0
        for c in 0..<classes {
            let truePositives = confusion[c][c]
            correct += truePositives
            let support = confusion[c].reduce(0, +)
            let predicted = (0..<classes).reduce(0) { $0 + confusion[$1][c] }
            let precision = predicted > 0 ? Double(truePositives) / Double(predicted) : 0
            let recall = support > 0 ? Double(truePositives) / Double(support) : 0
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            perClass.append(PerClass(precision: precision, recall: recall, f1: f1, support: support))
        }
        self.perClass = perClass
        accuracy = total > 0 ? Double(correct) / Double(total) : 0
        let present = (0..<classes).filter { c in perClass[c].support > 0 || (0..<classes).contains { confusion[$0][c] > 0 } }
        macroF1 = present.isEmpty ? 0 : present.reduce(0.0) { $0 + perClass[$1].f1 } / Double(present.count)
        microF1 = accuracy
    }

    /// Builds the matrix from true and predicted class indices.
    public init(truth: [Int], predicted: [Int], classes: Int) {
        var matrix = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        for (t, p) in zip(truth, predicted) { matrix[t][p] += 1 }
        self.init(confusion: matrix)
    }

    /// Accuracy per instrument family; `families[c]` names class c's family.
    public func perFamily(_ families: [String]) -> [String: PerFamily] {
        var result: [String: PerFamily] = [:]
        for family in Set(families) {
            let members = families.indices.filter { families[$0] == family }
            var support = 0, exact = 0, sameFamily = 0
            for t in members {
                for p in confusion[t].indices {
                    let count = confusion[t][p]
                    support += count
                    if p == t { exact += count }
                    if families[p] == family { sameFamily += count }
                }
            }
            guard support > 0 else { continue }
            result[family] = PerFamily(classAccuracy: Double(exact) / Double(support), familyAccuracy: Double(sameFamily) / Double(support), support: support)
        }
        return result
    }
}
