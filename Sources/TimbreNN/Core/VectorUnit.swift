/// The vector instructions the network's kernels were built for (`Package.swift` picks
/// them from the building machine, or `TIMBRE_TARGET_CPU`), as `timbre --version` reports.
public enum VectorUnit {
    public static var name: String {
        #if TIMBRE_AVX512
        return "AVX-512 with FMA"
        #elseif TIMBRE_FMA && arch(x86_64)
        return "AVX2 with FMA"
        #elseif TIMBRE_FMA
        return "NEON with FMA"
        #else
        return "baseline (no FMA)"
        #endif
    }
}
