import Foundation
import TimbreCore

/// Everything `timbre evaluate` reports, and the files it writes.
public struct EvaluationReport: Sendable {
    public var classCodes: [String]
    public var classNames: [String]
    public var families: [String]
    public var single: ClassificationMetrics?
    public var multi: MultiLabelMetrics?
    /// Every clip's provenance, true classes and probabilities, in file order.
    public var predictions: [ClipPrediction] = []
    /// Where the figures come from, recorded in metrics.json.
    public var provenance: Provenance?
    /// Expected calibration error over every labelled clip (0: the probabilities mean what
    /// they say), of `calibrationMeasure`.
    public var calibrationError: Double?
    /// What the error measures: the top class (softmax) or every class's probability (sigmoid).
    public var calibrationMeasure = "the top class"
    /// `evaluate --separate`: the mix clips scored as tagged and as tagged after separation.
    public var separation: SeparationComparison?

    public struct SeparationComparison: Sendable {
        /// Which stems were tagged: the separator's, or the songs' own summed into its
        /// targets (`--oracle-stems`, the most separation could give this classifier).
        public enum Stems: String, Sendable { case separated, oracle }

        public var songs: Int
        public var stems: Stems
        public var without: MultiLabelMetrics
        public var with: MultiLabelMetrics

        public init(songs: Int, stems: Stems = .separated, without: MultiLabelMetrics, with: MultiLabelMetrics) {
            self.songs = songs
            self.stems = stems
            self.without = without
            self.with = with
        }

        var json: [String: Any] {
            func metrics(_ m: MultiLabelMetrics) -> [String: Any] { ["micro_f1": m.microF1, "macro_f1": m.macroF1, "lrap": m.labelRankingAveragePrecision] }
            return ["songs": songs, "stems": stems.rawValue, "clips": without.clips, "without": metrics(without), "with": metrics(with)]
        }
    }

    /// What a reader of metrics.json needs to reproduce it: which model (and its exact
    /// bytes), which data, how it was read, at which threshold, by which timbre and when.
    public struct Provenance: Sendable, Equatable {
        public var model: String
        /// CRC-32 of the model file, 8 hex digits.
        public var modelCRC32: String
        public var modelBytes: Int
        public var data: [String]
        /// The layouts the data was read in ("features" for a feature file).
        public var layouts: [String]
        /// The multi-label threshold, or "per-class" when the model's own thresholds apply.
        public var threshold: String
        public var timbreVersion: String
        /// ISO 8601, UTC.
        public var date: String

        public init(model: String, modelCRC32: String, modelBytes: Int, data: [String], layouts: [String], threshold: String, timbreVersion: String, date: Date) {
            self.model = model
            self.modelCRC32 = modelCRC32
            self.modelBytes = modelBytes
            self.data = data
            self.layouts = layouts
            self.threshold = threshold
            self.timbreVersion = timbreVersion
            self.date = ISO8601DateFormatter().string(from: date)
        }

        var json: [String: Any] {
            ["model": model, "model_crc32": modelCRC32, "model_bytes": modelBytes, "data": data, "layouts": layouts,
             "threshold": threshold, "timbre_version": timbreVersion, "date": date]
        }
    }

    /// One clip as the model saw it.
    public struct ClipPrediction: Sendable, Equatable {
        public var source: String
        public var offset: Float
        /// Indices of the clip's true classes (empty for an unlabelled clip).
        public var truth: [Int]
        public var probabilities: [Float]

        /// The most probable class (the first on a tie).
        public var predicted: Int { probabilities.indices.max { probabilities[$0] < probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 > $1) } ?? 0 }
    }

    /// `true\predicted,<codes...>`, one row per true class, counts.
    public func confusionCSV() -> String {
        guard let single else { return "" }
        var lines = ["true\\predicted," + classCodes.joined(separator: ",")]
        for (index, row) in single.confusion.enumerated() {
            lines.append(classCodes[index] + "," + row.map(String.init).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// predictions.csv: `source,offset,true,predicted,` then one probability column per
    /// class code; true classes are joined with `;`.
    public func predictionsCSV() -> String {
        var lines = ["source,offset,true,predicted," + classCodes.joined(separator: ",")]
        for clip in predictions {
            let truth = clip.truth.map { classCodes[$0] }.joined(separator: ";")
            let probabilities = clip.probabilities.map { String(format: "%.6f", $0) }.joined(separator: ",")
            lines.append("\(Self.csvField(clip.source)),\(String(format: "%.3f", clip.offset)),\(truth),\(classCodes[clip.predicted]),\(probabilities)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A CSV field, quoted when it holds a comma, a quote or a line break.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// metrics.json as DESIGN.md specifies, plus per-family and multi-label sections.
    public func metricsJSON() throws -> String {
        var root: [String: Any] = [:]
        if let single {
            root["n_clips"] = single.clips
            root["top1_error"] = single.top1Error
            root["accuracy"] = single.accuracy
            root["macro_f1"] = single.macroF1
            root["micro_f1"] = single.microF1
            var perClass: [String: Any] = [:]
            for (index, code) in classCodes.enumerated() {
                let m = single.perClass[index]
                perClass[code] = ["precision": m.precision, "recall": m.recall, "f1": m.f1, "support": m.support]
            }
            root["per_class"] = perClass
            root["per_family"] = single.perFamily(families).mapValues {
                ["class_accuracy": $0.classAccuracy, "family_accuracy": $0.familyAccuracy, "support": $0.support] as [String: Any]
            }
        }
        if let provenance { root["provenance"] = provenance.json }
        if let separation { root["separation"] = separation.json }
        if let calibrationError {
            root["expected_calibration_error"] = ["value": calibrationError, "of": calibrationMeasure] as [String: Any]
        }
        if let multi {
            root["multi_label"] = ["n_clips": multi.clips, "threshold": multi.threshold, "micro_f1": multi.microF1, "macro_f1": multi.macroF1, "lrap": multi.labelRankingAveragePrecision] as [String: Any]
        }
        let data = try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// A terminal summary: headline figures, the confusion matrix and per-class scores.
    public func table() -> String {
        var lines: [String] = []
        if let single {
            lines.append(String(format: "%d clips  top-1 error %.2f%%  accuracy %.2f%%  macro F1 %.4f  micro F1 %.4f",
                                single.clips, single.top1Error * 100, single.accuracy * 100, single.macroF1, single.microF1))
            let width = max(5, (single.confusion.flatMap { $0 }.max() ?? 0).description.count + 1)
            lines.append("")
            lines.append("true \\ predicted".padding(toLength: 22, withPad: " ", startingAt: 0) + classCodes.map { $0.leftPadded(width) }.joined())
            for (index, row) in single.confusion.enumerated() {
                let label = "\(classCodes[index]) \(classNames[index])".padding(toLength: 22, withPad: " ", startingAt: 0)
                lines.append(label + row.map { String($0).leftPadded(width) }.joined())
            }
            lines.append("")
            lines.append("class".padding(toLength: 22, withPad: " ", startingAt: 0) + "precision".leftPadded(10) + "recall".leftPadded(8) + "F1".leftPadded(8) + "support".leftPadded(9))
            for (index, m) in single.perClass.enumerated() where m.support > 0 || single.confusion.contains(where: { $0[index] > 0 }) {
                let label = "\(classCodes[index]) \(classNames[index])".padding(toLength: 22, withPad: " ", startingAt: 0)
                lines.append(label + String(format: "%10.3f%8.3f%8.3f%9d", m.precision, m.recall, m.f1, m.support))
            }
            let families = single.perFamily(self.families)
            if !families.isEmpty {
                lines.append("")
                lines.append("family".padding(toLength: 22, withPad: " ", startingAt: 0) + "class acc".leftPadded(10) + "family acc".leftPadded(11) + "support".leftPadded(9))
                for (family, m) in families.sorted(by: { $0.key < $1.key }) {
                    lines.append(family.padding(toLength: 22, withPad: " ", startingAt: 0) + String(format: "%10.3f%11.3f%9d", m.classAccuracy, m.familyAccuracy, m.support))
                }
            }
        }
        if let separation {
            lines.append("")
            lines.append("mix clips of \(separation.songs) songs (\(separation.without.clips) clips)   micro F1  macro F1     LRAP")
            let after = separation.stems == .oracle ? "  tagged from the songs' own stems" : "  tagged after separation"
            for (label, m) in [("  as tagged", separation.without), (after, separation.with)] {
                lines.append(label.padding(toLength: 40, withPad: " ", startingAt: 0) + String(format: "%8.4f  %8.4f  %7.4f", m.microF1, m.macroF1, m.labelRankingAveragePrecision))
            }
        }
        if let calibrationError {
            lines.append("")
            lines.append(String(format: "expected calibration error (%@): %.3f", calibrationMeasure, calibrationError))
        }
        if let multi {
            lines.append("")
            // The line names the decision rule that was used: per-class thresholds when the
            // model carries them, else the one threshold.
            let rule = multi.classThresholds == nil ? String(format: "threshold %.2f", multi.threshold) : "per-class thresholds"
            lines.append(String(format: "multi-label: %d clips  %@  micro F1 %.4f  macro F1 %.4f  LRAP %.4f",
                                multi.clips, rule, multi.microF1, multi.macroF1, multi.labelRankingAveragePrecision))
        }
        return lines.joined(separator: "\n")
    }

    /// The confusion matrix as a figure: rows are true classes, columns predicted ones;
    /// each cell is shaded by its share of the row (blue on the diagonal, red off it, with a
    /// legend) and shows the count or, with `normalized`, that share in percent. Recall is
    /// given at the end of each row and precision under each column.
    public func confusionPicture(normalized: Bool = false) -> VectorPicture? {
        guard let single else { return nil }
        let n = single.confusion.count
        let cell = 44.0, left = 160.0, top = 170.0, right = 190.0, bottom = 80.0
        let gridWidth = Double(n) * cell
        var picture = VectorPicture(width: left + gridWidth + right, height: top + gridWidth + bottom)
        picture.rect(x: 0, y: 0, width: picture.width, height: picture.height, fill: .white)
        picture.text("Confusion matrix — accuracy \(String(format: "%.1f%%", single.accuracy * 100)), \(single.clips) clips",
                     x: left, y: 24, size: 16, style: .bold)
        picture.text("predicted", x: left + gridWidth / 2, y: 50, size: 13, anchor: .middle, style: .italic)
        picture.text("true", x: 18, y: top + gridWidth / 2, size: 13, anchor: .middle, rotation: 90, style: .italic)
        for (index, code) in classCodes.enumerated() {
            let label = "\(classNames[index]) (\(code))"
            let x = left + Double(index) * cell + cell / 2
            picture.text(label, x: x, y: top - 8, size: 12, rotation: 45)
            picture.text(label, x: left - 8, y: top + Double(index) * cell + cell / 2 + 4, size: 12, anchor: .end)
        }
        for (row, counts) in single.confusion.enumerated() {
            let total = max(1, counts.reduce(0, +))
            for (column, count) in counts.enumerated() {
                let share = Double(count) / Double(total)
                let x = left + Double(column) * cell, y = top + Double(row) * cell
                picture.rect(x: x, y: y, width: cell, height: cell, fill: Self.shade(share, correct: row == column), stroke: .grey)
                guard count > 0 else { continue }
                let value = normalized ? String(format: "%.0f%%", share * 100) : String(count)
                picture.text(value, x: x + cell / 2, y: y + cell / 2 + 5, size: normalized ? 11 : 13, anchor: .middle, colour: share > 0.55 ? .white : .black)
            }
            let recall = single.perClass[row].support > 0 ? String(format: "%.0f%%", single.perClass[row].recall * 100) : "–"
            picture.text(recall, x: left + gridWidth + 10, y: top + Double(row) * cell + cell / 2 + 5, size: 12)
        }
        picture.text("recall", x: left + gridWidth + 10, y: top - 8, size: 12, style: .bold)
        picture.text("precision", x: left - 8, y: top + gridWidth + 20, size: 12, anchor: .end, style: .bold)
        for column in 0..<n {
            let predicted = single.confusion.reduce(0) { $0 + $1[column] }
            let precision = predicted > 0 ? String(format: "%.0f%%", single.perClass[column].precision * 100) : "–"
            picture.text(precision, x: left + Double(column) * cell + cell / 2, y: top + gridWidth + 20, size: 12, anchor: .middle)
        }
        // Legend: the two colour scales, 0 to 100% of a row.
        let legendX = left + gridWidth + 70, legendTop = top, legendHeight = min(gridWidth, 200.0)
        for (offset, (title, correct)) in [("correct", true), ("confused", false)].enumerated() {
            let x = legendX + Double(offset) * 50
            for step in 0..<20 {
                let share = 1 - (Double(step) + 0.5) / 20
                picture.rect(x: x, y: legendTop + Double(step) * legendHeight / 20, width: 16, height: legendHeight / 20 + 0.5,
                             fill: Self.shade(share, correct: correct))
            }
            picture.rect(x: x, y: legendTop, width: 16, height: legendHeight, fill: nil, stroke: .grey)
            picture.text(title, x: x + 8, y: legendTop - 8, size: 11, anchor: .middle)
        }
        picture.text("100%", x: legendX + 72, y: legendTop + 9, size: 10)
        picture.text("0%", x: legendX + 72, y: legendTop + legendHeight, size: 10)
        picture.text("share of the row", x: legendX + 33, y: legendTop + legendHeight + 16, size: 10, anchor: .middle)
        return picture
    }

    /// confusion.svg: the figure of `confusionPicture`.
    public func confusionSVG(normalized: Bool = false) -> String { confusionPicture(normalized: normalized)?.svg() ?? "" }

    /// White to deep blue for correct shares, white to red for confusions.
    private static func shade(_ share: Double, correct: Bool) -> VectorPicture.Colour {
        let s = min(1, max(0, share))
        return correct ? VectorPicture.Colour(UInt8(255 - 205 * s), UInt8(255 - 155 * s), UInt8(255 - 40 * s))
            : VectorPicture.Colour(UInt8(255 - 20 * s), UInt8(255 - 190 * s), UInt8(255 - 190 * s))
    }

    /// Writes confusion.csv, confusion.svg, confusion.pdf, predictions.csv and metrics.json
    /// into `folder`; `normalized` puts row percentages in the figure's cells.
    public func write(to folder: URL, normalized: Bool = false) throws {
        try FileSystemName.makeFolders(folder.path)
        if let picture = confusionPicture(normalized: normalized) {
            try FileSystemName.write(Data(confusionCSV().utf8), atomicallyTo: folder.appendingPathComponent("confusion.csv").path)
            try FileSystemName.write(Data(picture.svg().utf8), atomicallyTo: folder.appendingPathComponent("confusion.svg").path)
            try FileSystemName.write(picture.pdf(), atomicallyTo: folder.appendingPathComponent("confusion.pdf").path)
        }
        try FileSystemName.write(Data(predictionsCSV().utf8), atomicallyTo: folder.appendingPathComponent("predictions.csv").path)
        try FileSystemName.write(Data(metricsJSON().utf8), atomicallyTo: folder.appendingPathComponent("metrics.json").path)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
