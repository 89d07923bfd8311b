import Foundation

/// A picture made of rectangles, text and lines, drawn once and written as SVG or as PDF
/// (for papers). Coordinates are in points with the origin at the top left, y downwards,
/// as in SVG.
public struct VectorPicture {
    public let width: Double
    public let height: Double
    /// Shapes in drawing order.
    private(set) var elements: [Element] = []

    public init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    public struct Colour: Equatable, Sendable {
        public var red: UInt8, green: UInt8, blue: UInt8

        public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
            self.red = red
            self.green = green
            self.blue = blue
        }

        public static let black = Colour(0, 0, 0)
        public static let white = Colour(255, 255, 255)
        public static let grey = Colour(204, 204, 204)

        /// One of ten distinct colours for data series (the "tab10" qualitative palette).
        public static func series(_ index: Int) -> Colour {
            let palette: [(UInt8, UInt8, UInt8)] = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
                                                    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
            let (r, g, b) = palette[((index % palette.count) + palette.count) % palette.count]
            return Colour(r, g, b)
        }

        var svg: String { "rgb(\(red),\(green),\(blue))" }
        var pdf: String { String(format: "%.3f %.3f %.3f", Double(red) / 255, Double(green) / 255, Double(blue) / 255) }
    }

    /// Where a text's position is: its start, its middle or its end (SVG's text-anchor).
    public enum Anchor: String, Sendable { case start, middle, end }
    public enum FontStyle: Sendable { case regular, bold, italic }

    enum Element {
        case rect(x: Double, y: Double, width: Double, height: Double, fill: Colour?, stroke: Colour?)
        case text(String, x: Double, y: Double, size: Double, anchor: Anchor, rotation: Double, colour: Colour, style: FontStyle)
        /// Polylines drawn as one series; `label` names it in the SVG (`data-series`).
        case lines([[(Double, Double)]], colour: Colour, lineWidth: Double, dashed: Bool, label: String?)
    }

    public mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: Colour?, stroke: Colour? = nil) {
        elements.append(.rect(x: x, y: y, width: width, height: height, fill: fill, stroke: stroke))
    }

    /// Text with its baseline at `y`; `rotation` in degrees, counter-clockwise as seen.
    public mutating func text(_ string: String, x: Double, y: Double, size: Double, anchor: Anchor = .start, rotation: Double = 0,
                              colour: Colour = .black, style: FontStyle = .regular) {
        elements.append(.text(string, x: x, y: y, size: size, anchor: anchor, rotation: rotation, colour: colour, style: style))
    }

    /// One series of polylines (a gap between parts where data is missing).
    public mutating func lines(_ parts: [[(Double, Double)]], colour: Colour, lineWidth: Double = 1.5, dashed: Bool = false, label: String? = nil) {
        elements.append(.lines(parts.filter { $0.count > 0 }, colour: colour, lineWidth: lineWidth, dashed: dashed, label: label))
    }

    // MARK: SVG

    public func svg() -> String {
        var out = [#"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Self.number(width))" height="\#(Self.number(height))" font-family="Helvetica, Arial, sans-serif">"#]
        for element in elements {
            switch element {
            case .rect(let x, let y, let w, let h, let fill, let stroke):
                out.append(#"<rect x="\#(Self.number(x))" y="\#(Self.number(y))" width="\#(Self.number(w))" height="\#(Self.number(h))" fill="\#(fill?.svg ?? "none")""#
                           + (stroke.map { #" stroke="\#($0.svg)""# } ?? "") + "/>")
            case .text(let string, let x, let y, let size, let anchor, let rotation, let colour, let style):
                let styleAttribute = style == .bold ? #" font-weight="bold""# : style == .italic ? #" font-style="italic""# : ""
                let transform = rotation == 0 ? "" : #" transform="rotate(\#(Self.number(-rotation)) \#(Self.number(x)) \#(Self.number(y)))""#
                out.append(#"<text x="\#(Self.number(x))" y="\#(Self.number(y))" font-size="\#(Self.number(size))" text-anchor="\#(anchor.rawValue)" fill="\#(colour.svg)""#
                           + styleAttribute + transform + ">" + Self.escape(string) + "</text>")
            case .lines(let parts, let colour, let lineWidth, let dashed, let label):
                let d = parts.map { part in
                    part.enumerated().map { ($0.offset == 0 ? "M" : "L") + Self.number($0.element.0) + " " + Self.number($0.element.1) }.joined(separator: " ")
                }.joined(separator: " ")
                out.append(#"<path d="\#(d)" fill="none" stroke="\#(colour.svg)" stroke-width="\#(Self.number(lineWidth))""#
                           + (dashed ? #" stroke-dasharray="4 3""# : "") + (label.map { #" data-series="\#(Self.escape($0))""# } ?? "") + "/>")
            }
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    static func number(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.2f", rounded)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
