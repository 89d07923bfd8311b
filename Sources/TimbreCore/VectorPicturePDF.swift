import Foundation

/// Writes a `VectorPicture` as a one-page PDF 1.4 with the standard Helvetica fonts (no
/// font is embedded; every PDF reader has them), so figures go into papers as vectors
/// without a converter.
extension VectorPicture {
    public func pdf() -> Data {
        var content = ""
        for element in elements {
            switch element {
            case .rect(let x, let y, let w, let h, let fill, let stroke):
                let box = "\(Self.pdfNumber(x)) \(Self.pdfNumber(height - y - h)) \(Self.pdfNumber(w)) \(Self.pdfNumber(h)) re"
                if let fill { content += "\(fill.pdf) rg \(box) f\n" }
                if let stroke { content += "\(stroke.pdf) RG 0.5 w \(box) S\n" }
            case .text(let string, let x, let y, let size, let anchor, let rotation, let colour, let style):
                let (bytes, width) = Self.winAnsi(string, style: style)
                let advance = width * size / 1000 * (anchor == .start ? 0 : anchor == .middle ? 0.5 : 1)
                let angle = rotation * Double.pi / 180, c = cos(angle), s = sin(angle)
                let originX = x - advance * c, originY = (height - y) - advance * s
                let font = style == .bold ? "F2" : style == .italic ? "F3" : "F1"
                content += "BT \(colour.pdf) rg /\(font) \(Self.pdfNumber(size)) Tf "
                    + "\(Self.pdfNumber(c)) \(Self.pdfNumber(s)) \(Self.pdfNumber(-s)) \(Self.pdfNumber(c)) \(Self.pdfNumber(originX)) \(Self.pdfNumber(originY)) Tm "
                    + "(\(bytes)) Tj ET\n"
            case .lines(let parts, let colour, let lineWidth, let dashed, _):
                content += "\(colour.pdf) RG \(Self.pdfNumber(lineWidth)) w " + (dashed ? "[4 3] 0 d " : "[] 0 d ") + "1 j\n"
                for part in parts {
                    for (index, point) in part.enumerated() {
                        content += "\(Self.pdfNumber(point.0)) \(Self.pdfNumber(height - point.1)) \(index == 0 ? "m" : "l")\n"
                    }
                }
                content += "S\n"
            }
        }
        let fonts = [("F1", "Helvetica"), ("F2", "Helvetica-Bold"), ("F3", "Helvetica-Oblique")]
        var objects = [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 \(Self.pdfNumber(width)) \(Self.pdfNumber(height))] "
                + "/Resources << /Font << " + fonts.enumerated().map { "/\($0.element.0) \($0.offset + 5) 0 R" }.joined(separator: " ") + " >> >> /Contents 4 0 R >>",
            "<< /Length \(content.utf8.count) >>\nstream\n\(content)endstream",
        ]
        objects += fonts.map { "<< /Type /Font /Subtype /Type1 /BaseFont /\($0.1) /Encoding /WinAnsiEncoding >>" }
        var file = "%PDF-1.4\n"
        var offsets: [Int] = []
        for (index, object) in objects.enumerated() {
            offsets.append(file.utf8.count)
            file += "\(index + 1) 0 obj\n\(object)\nendobj\n"
        }
        let xref = file.utf8.count
        file += "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n" + offsets.map { String(format: "%010d 00000 n \n", $0) }.joined()
        file += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        return Data(file.utf8)
    }

    static func pdfNumber(_ value: Double) -> String {
        let rounded = (value * 1000).rounded() / 1000
        if rounded == rounded.rounded() { return String(Int(rounded)) }
        return String(format: "%.3f", rounded)
    }

    /// The text as a PDF string in WinAnsiEncoding (printable ASCII, the Latin-1 letters,
    /// dashes, minus as hyphen, ×; anything else as "?"), escaped, and its width in
    /// thousandths of the font size (Helvetica's metrics).
    static func winAnsi(_ text: String, style: FontStyle) -> (String, Double) {
        var out = "", width = 0.0
        for scalar in text.unicodeScalars {
            let code: UInt32
            switch scalar.value {
            case 0x20...0x7E, 0xA0...0xFF: code = scalar.value
            case 0x2014: code = 0x97
            case 0x2013: code = 0x96
            case 0x2212: code = 0x2D
            default: code = 0x3F
            }
            width += glyphWidth(code, bold: style == .bold)
            switch code {
            case 0x28, 0x29, 0x5C: out += "\\" + String(UnicodeScalar(UInt8(code)))
            case 0x20...0x7E: out.unicodeScalars.append(UnicodeScalar(UInt8(code)))
            default: out += String(format: "\\%03o", code)
            }
        }
        return (out, width)
    }

    /// Advance widths of Helvetica and Helvetica-Bold (Adobe's core-font metrics) for
    /// printable ASCII; other WinAnsi glyphs are taken as 556 (a digit's width), with the
    /// dashes and × at their own widths.
    private static func glyphWidth(_ code: UInt32, bold: Bool) -> Double {
        switch code {
        case 0x20...0x7E: return Double((bold ? helveticaBoldWidths : helveticaWidths)[Int(code) - 0x20])
        case 0x97: return 1000
        case 0xD7: return 584
        default: return 556
        }
    }

    private static let helveticaWidths: [Int] = [
        278, 278, 355, 556, 556, 889, 667, 222, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556, 556,
        556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
        667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 222, 556, 556, 500, 556, 556, 278, 556,
        556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
    ]
    private static let helveticaBoldWidths: [Int] = [
        278, 333, 474, 556, 556, 889, 722, 278, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556, 556,
        556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
        667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, 278, 556, 611, 556, 611, 556, 333, 611,
        611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
    ]
}
