import Foundation
import Testing
@testable import TimbreEvaluation

@Suite struct MetricsTests {
    // truth × predicted
    let matrix = [[5, 1, 0],
                  [2, 3, 1],
                  [0, 0, 4]]

    @Test func handMadeConfusionMatrix() {
        let m = ClassificationMetrics(confusion: matrix)
        #expect(m.clips == 16)
        #expect(abs(m.accuracy - 0.75) < 1e-12 && abs(m.top1Error - 0.25) < 1e-12)
        #expect(abs(m.perClass[0].precision - 5.0 / 7) < 1e-12 && abs(m.perClass[0].recall - 5.0 / 6) < 1e-12)
        #expect(abs(m.perClass[0].f1 - 50.0 / 65) < 1e-12)
        #expect(abs(m.perClass[1].f1 - 0.6) < 1e-12)
        #expect(abs(m.perClass[2].f1 - 1.6 / 1.8) < 1e-12)
        #expect(m.perClass.map(\.support) == [6, 6, 4])
        #expect(abs(m.macroF1 - (50.0 / 65 + 0.6 + 1.6 / 1.8) / 3) < 1e-12)
        #expect(m.microF1 == m.accuracy)
        let families = m.perFamily(["strings", "strings", "brass"])
        #expect(abs(families["strings"]!.classAccuracy - 8.0 / 12) < 1e-12)
        #expect(abs(families["strings"]!.familyAccuracy - 11.0 / 12) < 1e-12)
        #expect(families["brass"]!.familyAccuracy == 1 && families["brass"]!.support == 4)
    }

    @Test func fromPredictionsEqualsFromMatrix() {
        let truth = [0, 0, 1, 2, 2, 1]
        let predicted = [0, 1, 1, 2, 0, 1]
        let m = ClassificationMetrics(truth: truth, predicted: predicted, classes: 3)
        #expect(m.confusion == [[1, 1, 0], [0, 2, 0], [1, 0, 1]])
    }

    @Test func labelRankingAveragePrecisionMatchesTheKnownExample() {
        // sklearn's documented example: LRAP 0.41666...
        let probabilities: [Float] = [0.75, 0.5, 1, 1, 0.2, 0.1]
        let metrics = MultiLabelMetrics(probabilities: probabilities, truth: [[0], [2]], classes: 3, threshold: 0.9)
        #expect(abs(metrics.labelRankingAveragePrecision - 5.0 / 12) < 1e-12)
    }

    @Test func multiLabelF1AtAThreshold() {
        // Clip 1: truth {0,1}, p = (0.6, 0.4, 0.1) → predicted {0} at 0.5, {0,1} at 0.3.
        // Clip 2: truth {2}, p = (0.2, 0.1, 0.7) → predicted {2}.
        let p: [Float] = [0.6, 0.4, 0.1, 0.2, 0.1, 0.7]
        let truth: [Set<Int>] = [[0, 1], [2]]
        let strict = MultiLabelMetrics(probabilities: p, truth: truth, classes: 3, threshold: 0.5)
        #expect(abs(strict.microF1 - 2.0 * 2 / (2 * 2 + 0 + 1)) < 1e-12)  // tp 2, fp 0, fn 1
        #expect(abs(strict.macroF1 - (1 + 0 + 1) / 3.0) < 1e-12)
        let loose = MultiLabelMetrics(probabilities: p, truth: truth, classes: 3, threshold: 0.3)
        #expect(loose.microF1 == 1)
        // Always at least the top class, even below the threshold.
        #expect(MultiLabelMetrics.decide([0.2, 0.3, 0.25], threshold: 0.9) == [1])
    }

    @Test func reportsFollowTheDesignedFormats() throws {
        let report = EvaluationReport(classCodes: ["cel", "vio", "tru"], classNames: ["cello", "violin", "trumpet"],
                                      families: ["bowed strings", "bowed strings", "brass"], single: ClassificationMetrics(confusion: matrix))
        #expect(report.confusionCSV() == "true\\predicted,cel,vio,tru\ncel,5,1,0\nvio,2,3,1\ntru,0,0,4\n")
        let json = try JSONSerialization.jsonObject(with: Data(report.metricsJSON().utf8)) as! [String: Any]
        #expect(Set(json.keys).isSuperset(of: ["n_clips", "top1_error", "accuracy", "macro_f1", "micro_f1", "per_class"]))
        let cello = (json["per_class"] as! [String: Any])["cel"] as! [String: Any]
        #expect(Set(cello.keys) == ["precision", "recall", "f1", "support"])
        #expect(cello["support"] as? Int == 6)
        let svg = report.confusionSVG()
        #expect(svg.hasPrefix("<svg") && svg.contains("cello (cel)") && svg.contains(">5</text>") && svg.contains("accuracy 75.0%"))
        let table = report.table()
        #expect(table.contains("top-1 error 25.00%"))
        #expect(table.contains("cel cello"))
    }
}
