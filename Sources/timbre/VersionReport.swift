import CFluidSynth
import CHDF5
import COpenBLAS
import CSampleRate
import CSndFile
import CZlib
import Foundation
import TimbreCore
import TimbreNN
import TimbreTraining

/// What `timbre --version` prints: the version, the commit it was built from, the vector
/// path of the network's kernels and the versions of the C libraries in use, which is what
/// a bug report needs.
enum VersionReport {
    static let version = "0.1.0"

    static var text: String {
        var lines = ["timbre \(version) (commit \(commit))", "network kernels: \(VectorUnit.name)"]
        lines.append("libsndfile: \(String(cString: sf_version_string()))")
        lines.append("libsamplerate: \(String(cString: src_get_version()))")
        lines.append("FFTW: \(fftwVersion)")
        lines.append("OpenBLAS: \(String(cString: openblas_get_config())) (core \(String(cString: openblas_get_corename())))")
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        H5get_libversion(&major, &minor, &release)
        lines.append("HDF5: \(major).\(minor).\(release)")
        lines.append("FluidSynth: \(String(cString: fluid_version_str()))")
        lines.append("zlib: \(String(cString: zlibVersion()))")
        lines.append("MPI: " + (TrainingGroup.libraryVersion ?? "not built in (build with TIMBRE_MPI=1 for mpirun timbre train)"))
        return lines.joined(separator: "\n")
    }

    /// `make build` records `git describe` beside the binary (`timbre-commit`, installed
    /// with the models); a plain `swift build` has none.
    private static var commit: String {
        guard let url = ResourceFolders.locate("timbre-commit"),
              let text = try? String(contentsOf: url, encoding: .utf8) else { return "unknown" }
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return value.isEmpty || value.count > 80 ? "unknown" : value
    }

    /// FFTW exports its version as a C array of unknown size, which Swift does not import.
    private static var fftwVersion: String {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "fftw_version") else { return "unknown" }
        return String(cString: symbol.assumingMemoryBound(to: CChar.self))
    }
}
