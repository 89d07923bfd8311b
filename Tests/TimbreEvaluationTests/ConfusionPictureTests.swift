import Foundation
import Testing
import TimbreCore
@testable import TimbreEvaluation

@Suite struct ConfusionPictureTests {
    let report = EvaluationReport(classCodes: ["cel", "vio", "tru"], classNames: ["cello", "violin", "trumpet"],
                                  families: ["bowed strings", "bowed strings", "brass"],
                                  single: ClassificationMetrics(confusion: [[5, 1, 0], [2, 3, 1], [0, 0, 4]]))

    /// Recall at the end of each row (5/6, 3/6, 4/4), precision under each column
    /// (5/7, 3/4, 4/5), a legend, and shares instead of counts when normalised.
    @Test func recallPrecisionLegendAndPercentages() {
        let counts = report.confusionSVG()
        for value in ["83%", "50%", "100%", "71%", "75%", "80%"] { #expect(counts.contains(">\(value)</text>"), "\(value)") }
        #expect(counts.contains(">recall</text>") && counts.contains(">precision</text>") && counts.contains(">share of the row</text>"))
        #expect(counts.contains(">5</text>") && !counts.contains(">33%</text>"))
        let shares = report.confusionSVG(normalized: true)
        // Row vio: 2, 3, 1 of 6.
        #expect(shares.contains(">33%</text>") && shares.contains(">17%</text>") && !shares.contains(">5</text>"))
    }

    /// The PDF is well formed: every cross-reference offset lands on its object, startxref
    /// on the table, the stream's length is its byte count, and the figure's text is there.
    @Test func thePDFIsWellFormed() throws {
        let picture = try #require(report.confusionPicture())
        let pdf = picture.pdf()
        let text = String(decoding: pdf, as: UTF8.self)
        #expect(text.hasPrefix("%PDF-1.4\n") && text.hasSuffix("%%EOF\n"))
        let bytes = [UInt8](pdf)
        func starts(_ prefix: String, at offset: Int) -> Bool {
            let p = [UInt8](prefix.utf8)
            return offset + p.count <= bytes.count && Array(bytes[offset..<(offset + p.count)]) == p
        }
        let lines = text.components(separatedBy: "\n")
        let startxref = try #require(lines.firstIndex(of: "startxref"))
        let tableOffset = try #require(Int(lines[startxref + 1]))
        #expect(starts("xref\n", at: tableOffset))
        let xref = try #require(lines.firstIndex(of: "xref"))
        let count = try #require(Int(lines[xref + 1].split(separator: " ")[1]))
        #expect(count == 8)
        for object in 1..<count {
            let offset = try #require(Int(lines[xref + 2 + object].prefix(10)))
            #expect(starts("\(object) 0 obj\n", at: offset), "object \(object)")
        }
        let streamStart = try #require(text.range(of: "stream\n")), streamEnd = try #require(text.range(of: "endstream"))
        let length = text[streamStart.upperBound..<streamEnd.lowerBound].utf8.count
        #expect(text.contains("<< /Length \(length) >>"))
        for label in ["(cello \\(cel\\)) Tj", "(recall) Tj", "(83%) Tj", "/BaseFont /Helvetica-Bold"] { #expect(text.contains(label), "\(label)") }
        // The em dash of the title goes out in WinAnsiEncoding.
        #expect(text.contains("Confusion matrix \\227 accuracy 75.0%"))
    }

    /// Text anchored at its end finishes where it is placed: the PDF start is moved left by
    /// the string's Helvetica width ("ab": 556 + 556 thousandths of the size).
    @Test func anchoredTextIsPlacedByItsWidth() {
        var picture = VectorPicture(width: 100, height: 50)
        picture.text("ab", x: 80, y: 20, size: 10, anchor: .end)
        let text = String(decoding: picture.pdf(), as: UTF8.self)
        #expect(text.contains("1 0 0 1 68.880 30 Tm (ab) Tj"), "\(text)")
    }
}
