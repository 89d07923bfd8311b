// swift-tools-version: 6.0
import PackageDescription
import Foundation

/// Numeric modules build optimised even in debug: the tests run real spectrograms and
/// an unoptimised FFT/mel loop would make them slow enough to hide real failures.
let optimisedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

/// The network's vector loops use AVX-512, or else AVX2, and fused multiply-add when the
/// building machine has them (a build runs where it is made); `TIMBRE_TARGET_CPU=x86-64`
/// builds a portable binary instead. Code checks `TIMBRE_FMA` before asking for fused
/// multiply-adds, which baseline x86-64 would emulate in software, and `TIMBRE_AVX512`
/// before using 16-lane vectors as single registers.
let vectorUnit: [SwiftSetting] = {
    #if os(Linux) && arch(x86_64)
    let environment = ProcessInfo.processInfo.environment["TIMBRE_TARGET_CPU"]
    let cpuFlags = Set((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
    let detected = cpuFlags.isSuperset(of: ["avx512f", "avx512vl", "avx512bw", "avx512dq", "fma"]) ? "skylake-avx512"
        : cpuFlags.isSuperset(of: ["avx2", "fma"]) ? "haswell" : "x86-64"
    let cpu = environment ?? detected
    let defines = (cpu == "x86-64" ? [] : ["-DTIMBRE_FMA"]) + (cpu == "skylake-avx512" ? ["-DTIMBRE_AVX512"] : [])
    return [.unsafeFlags(["-target-cpu", cpu] + defines)]
    #elseif arch(arm64)
    return [.define("TIMBRE_FMA")]
    #else
    return []
    #endif
}()

/// Data-parallel training over MPI is built only when asked (`TIMBRE_MPI=1`, as `make`
/// does after installing Open MPI): a plain `swift build` needs no MPI.
let withMPI = ProcessInfo.processInfo.environment["TIMBRE_MPI"] == "1"
let mpiTargets: [Target] = withMPI
    ? [.systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
       .target(name: "TimbreMPI", dependencies: ["CMPI"])]
    : []

let package = Package(
    name: "Timbre",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "timbre", targets: ["timbre"]),
        .library(name: "TimbreKit", targets: ["TimbreCore", "TimbreAudio", "TimbreDSP", "TimbreHDF5", "TimbreStore", "TimbreDatasets", "TimbrePrepare", "TimbreNN", "TimbreTraining", "TimbreEvaluation", "TimbreSynth", "TimbreTagging", "TimbreModel", "TimbreSeparation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // C libraries, found through pkg-config; `make deps` installs them.
        .systemLibrary(name: "CSndFile", pkgConfig: "sndfile", providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CSampleRate", pkgConfig: "samplerate", providers: [.apt(["libsamplerate0-dev"])]),
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3", providers: [.apt(["libfftw3-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5-serial", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // fluidsynth.h sits in /usr/include and needs none of the flags its pkg-config file
        // passes on from GLib and SDL (-pthread, -D_REENTRANT, ...), which SwiftPM warns about.
        .systemLibrary(name: "CFluidSynth", providers: [.apt(["libfluidsynth-dev"])]),
        .systemLibrary(name: "CMalloc"),

        // Libraries, one job each.
        .target(name: "TimbreCore", dependencies: ["CMalloc"]),
        .target(name: "TimbreAudio", dependencies: ["TimbreCore", "CSndFile", "CSampleRate", "COpenBLAS"], swiftSettings: optimisedInDebug),
        .target(name: "TimbreDSP", dependencies: ["CFFTW"], swiftSettings: optimisedInDebug),
        .target(name: "TimbreHDF5", dependencies: ["TimbreCore", "CHDF5"]),
        .target(name: "TimbreStore", dependencies: ["TimbreCore", "TimbreHDF5", "TimbreDSP", "CZlib"], swiftSettings: optimisedInDebug),
        .target(
            name: "TimbreLabels", dependencies: ["TimbreCore"], path: "labels",
            exclude: ["README.md"],
            sources: ["LabelTables.swift"],
            resources: [.copy("taxonomy.csv"), .copy("medleydb.csv"), .copy("general-midi.csv"), .copy("folder-names.csv"), .copy("sound-sources.csv"), .copy("separation-groups.csv")]
        ),
        .target(name: "TimbreDatasets", dependencies: ["TimbreCore", "TimbreLabels", .product(name: "Yams", package: "Yams")]),
        .target(name: "TimbreConsole"),
        .target(name: "TimbreNN", dependencies: ["TimbreCore", "COpenBLAS"], swiftSettings: optimisedInDebug + vectorUnit),
        .target(name: "TimbreEvaluation", dependencies: ["TimbreCore", "TimbreTraining", "TimbreNN", "TimbreStore", "TimbreAudio", "TimbreDSP", "COpenBLAS"], swiftSettings: optimisedInDebug),
        .target(name: "TimbreTraining", dependencies: ["TimbreCore", "TimbreNN", "TimbreStore", "TimbreHDF5", "COpenBLAS"] + (withMPI ? ["TimbreMPI"] : []),
                swiftSettings: optimisedInDebug + (withMPI ? [.define("TIMBRE_MPI")] : [])),
        .target(name: "TimbreSynth", dependencies: ["TimbreCore", "TimbreAudio", "TimbreDSP", "TimbreLabels", "CFluidSynth"], swiftSettings: optimisedInDebug),
        .target(name: "TimbreModel", dependencies: ["TimbreTraining", "TimbreSeparation", "TimbreCore", "CZlib"], exclude: ["model-card"],
                resources: [.copy("default-model.h5"), .copy("default-model.h5.crc32"), .copy("default-separator.h5"), .copy("default-separator.h5.crc32")]),
        .target(
            name: "TimbreSeparation",
            dependencies: ["TimbreCore", "TimbreAudio", "TimbreDSP", "TimbreNN", "TimbreTraining", "TimbreDatasets", "TimbreLabels", "COpenBLAS"],
            swiftSettings: optimisedInDebug
        ),
        .target(name: "TimbreTagging", dependencies: ["TimbreCore", "TimbreAudio", "TimbreDSP", "TimbreNN", "COpenBLAS"], swiftSettings: optimisedInDebug),
        .target(
            name: "TimbrePrepare",
            dependencies: ["TimbreCore", "TimbreAudio", "TimbreDSP", "TimbreStore", "TimbreDatasets", "TimbreConsole", "COpenBLAS", "CZlib"],
            swiftSettings: optimisedInDebug
        ),
        .executableTarget(
            name: "timbre",
            dependencies: ["TimbrePrepare", "TimbreTraining", "TimbreEvaluation", "TimbreDatasets", "TimbreConsole", "TimbreSynth", "TimbreModel", "TimbreTagging", "TimbreSeparation", "TimbreNN",
                           "CSndFile", "CSampleRate", "CFFTW", "COpenBLAS", "CHDF5", "CFluidSynth", "CZlib", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // Fuzzing harnesses for the parsers of untrusted files (`make fuzz`); built plainly,
        // a replayer of saved inputs.
        .executableTarget(name: "timbre-fuzz", dependencies: ["TimbreCore", "TimbreAudio", "TimbreDatasets", "TimbreDSP", "TimbreHDF5", "TimbreStore", "TimbreNN", "TimbreTraining", "TimbreSeparation"],
                         path: "Sources/TimbreFuzz"),
        .executableTarget(name: "timbre-bench", dependencies: ["TimbreCore", "TimbreNN", "COpenBLAS"], path: "Sources/TimbreBench"),

        .testTarget(name: "TimbreAudioTests", dependencies: ["TimbreAudio", "TimbreCore"], swiftSettings: optimisedInDebug),
        .testTarget(name: "TimbreDSPTests", dependencies: ["TimbreDSP"], exclude: ["Fixtures"], swiftSettings: optimisedInDebug),
        .testTarget(name: "TimbreStoreTests", dependencies: ["TimbreStore", "TimbreHDF5", "TimbreCore"]),
        .testTarget(name: "TimbreDatasetsTests", dependencies: ["TimbreDatasets", "TimbreAudio", "TimbreCore"]),
        .testTarget(name: "TimbrePrepareTests", dependencies: ["TimbrePrepare", "TimbreStore", "TimbreAudio", "TimbreCore"]),
        .testTarget(name: "TimbreNNTests", dependencies: ["TimbreNN", "TimbreCore"], swiftSettings: optimisedInDebug),
        .testTarget(name: "TimbreEvaluationTests", dependencies: ["TimbreCore", "TimbreEvaluation", "TimbreTraining", "TimbreStore", "TimbreNN", "TimbreDSP", "TimbreAudio"], exclude: ["Fixtures"], swiftSettings: optimisedInDebug),
        .testTarget(name: "TimbreTrainingTests", dependencies: ["TimbreCore", "TimbreTraining", "TimbreStore", "TimbreNN", "TimbreHDF5"], swiftSettings: optimisedInDebug),
        .testTarget(name: "TimbreSynthTests", dependencies: ["TimbreSynth", "TimbreCore", "TimbreAudio", "TimbreDatasets", "TimbreDSP"]),
        .testTarget(name: "TimbreSeparationTests", dependencies: ["TimbreSeparation", "TimbreNN", "TimbreCore", "TimbreAudio", "TimbreDSP"], swiftSettings: optimisedInDebug),
        .testTarget(name: "TimbreCLITests", dependencies: ["timbre", "timbre-fuzz", "TimbreStore", "TimbreAudio", "TimbreCore", "TimbreSynth", "TimbreModel", "TimbreTagging", "TimbreTraining", "TimbreSeparation"]),
    ] + mpiTargets
)
