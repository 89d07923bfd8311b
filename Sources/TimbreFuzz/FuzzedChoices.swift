/// A fuzzer's bytes read as a sequence of choices. Once the bytes run out every choice is
/// its first option, so the options are listed valid first: a short input describes a
/// valid file, and each byte the fuzzer adds or changes bends one part of it.
struct FuzzedChoices {
    private var bytes: ArraySlice<UInt8>

    init(_ bytes: some Sequence<UInt8>) { self.bytes = ArraySlice(bytes) }

    mutating func byte() -> UInt8 { bytes.popFirst() ?? 0 }

    mutating func pick<T>(_ options: [T]) -> T { options[Int(byte()) % options.count] }

    /// Extents a file may declare, stored or not: small, at the limits of 32-bit and
    /// 64-bit arithmetic, and far beyond what memory holds.
    static let extents = [2, 1, 0, 3, 16, 130, 1 << 16, (1 << 31) - 1, 1 << 31, (1 << 32) + 1, 1 << 40, 1 << 62]

    /// Integers for attributes: the extents and their negative and extreme neighbours.
    static let integers = extents + [-1, Int(Int32.min), Int.max, Int.min]

    /// Numbers for attributes and stored values, the non-finite ones included.
    static let numbers: [Double] = [0.01, 0, -0.0, 1, -1, 0.5, 3, 512, 22_050, 1e-300, 1e300, .nan, .infinity, -.infinity, 0x1p52, 0x1p63]

    /// Texts for attributes and stored strings: names, traversal, terminal escapes, bulk.
    static let texts = ["a.wav", "", "../../etc/passwd", "\u{1B}]0;title\u{07}\u{1B}[2J", "caf\u{E9}", String(repeating: "x", count: 5_000), "{}", "null"]
}
