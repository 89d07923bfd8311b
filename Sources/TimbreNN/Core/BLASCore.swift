import COpenBLAS
import Foundation
import TimbreVectorKernels

/// Which of OpenBLAS's kernel sets ("cores") the matrix products run on.
///
/// OpenBLAS built for every x86-64 (Debian's DYNAMIC_ARCH) picks its core by CPU model
/// while it loads. A processor newer than the library (Sapphire Rapids under OpenBLAS
/// 0.3.21, for one) is taken for "Prescott", whose SSE3 kernels run the products at a
/// fraction of the speed the CPU's AVX2 or AVX-512 gives. The library reads
/// `OPENBLAS_CORETYPE` only while loading, so a program that finds it fell back runs
/// itself again with the core that matches the vector unit the network's kernels chose.
public enum BLASCore {
    /// The core OpenBLAS is using in this process.
    public static var current: String { String(cString: openblas_get_corename()) }

    /// The core to ask for instead of `current`, or nil when OpenBLAS's choice stands:
    /// only its fallback is replaced, only on a CPU with AVX2 or AVX-512, and never when
    /// the user named a core (`requested`).
    public static func replacement(current: String, unit: TimbreVectorUnit, requested: String?) -> String? {
        guard requested == nil, current.lowercased() == "prescott" else { return nil }
        switch unit {
        case TimbreVectorUnitAVX512: return "SkylakeX"
        case TimbreVectorUnitAVX2: return "Haswell"
        default: return nil
        }
    }

    /// Runs this program again from the start, with the same arguments and
    /// `OPENBLAS_CORETYPE` naming the right core, when OpenBLAS fell back; returns (and the
    /// program goes on as it is) when it did not, or when the program cannot run itself
    /// again. Call it first thing, before any work or output.
    public static func runAgainIfFallenBack() {
        guard let core = replacement(current: current, unit: timbre_vector_unit(),
                                     requested: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        // The binary's own path, not /proc/self/exe, so ps and killall still see its name.
        let program = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "/proc/self/exe"
        if execv(program, CommandLine.unsafeArgv) != 0 { execv("/proc/self/exe", CommandLine.unsafeArgv) }
        // Only reached when the exec failed: carry on with the slow kernels.
        unsetenv("OPENBLAS_CORETYPE")
    }
}
