// swift-tools-version: 6.0
import PackageDescription
import Foundation

// No target carries unsafe build flags, so other packages can use the library products by
// version (`make library-check` builds such a package); the network's kernels choose their
// vector instructions at run time (TimbreVectorKernels) instead of at build time.

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
        .target(name: "TimbreAudio", dependencies: ["TimbreCore", "CSndFile", "CSampleRate", "COpenBLAS"]),
        .target(name: "TimbreDSP", dependencies: ["CFFTW"]),
        .target(name: "TimbreHDF5", dependencies: ["TimbreCore", "CHDF5"]),
        .target(name: "TimbreStore", dependencies: ["TimbreCore", "TimbreHDF5", "TimbreDSP", "CZlib"]),
        .target(
            name: "TimbreLabels", dependencies: ["TimbreCore"], path: "labels",
            exclude: ["README.md"],
            sources: ["LabelTables.swift"],
            resources: [.copy("taxonomy.csv"), .copy("medleydb.csv"), .copy("general-midi.csv"), .copy("folder-names.csv"), .copy("sound-sources.csv"), .copy("separation-groups.csv")]
        ),
        .target(name: "TimbreDatasets", dependencies: ["TimbreCore", "TimbreLabels", .product(name: "Yams", package: "Yams")]),
        .target(name: "TimbreConsole"),
        // The network's vector loops in C, one copy per vector unit, chosen at run time.
        .target(name: "TimbreVectorKernels"),
        .target(name: "TimbreNN", dependencies: ["TimbreCore", "TimbreVectorKernels", "COpenBLAS"]),
        .target(name: "TimbreEvaluation", dependencies: ["TimbreCore", "TimbreTraining", "TimbreNN", "TimbreStore", "TimbreAudio", "TimbreDSP", "COpenBLAS"]),
        .target(name: "TimbreTraining", dependencies: ["TimbreCore", "TimbreNN", "TimbreStore", "TimbreHDF5", "COpenBLAS"] + (withMPI ? ["TimbreMPI"] : []),
                swiftSettings: (withMPI ? [.define("TIMBRE_MPI")] : [])),
        .target(name: "TimbreSynth", dependencies: ["TimbreCore", "TimbreAudio", "TimbreDSP", "TimbreLabels", "TimbreDatasets", "CFluidSynth"]),
        .target(name: "TimbreModel", dependencies: ["TimbreTraining", "TimbreSeparation", "TimbreCore", "CZlib"], exclude: ["model-card"],
                resources: [.copy("default-model.h5"), .copy("default-model.h5.crc32"), .copy("default-separator.h5"), .copy("default-separator.h5.crc32")]),
        .target(
            name: "TimbreSeparation",
            dependencies: ["TimbreCore", "TimbreAudio", "TimbreDSP", "TimbreNN", "TimbreTraining", "TimbreDatasets", "TimbreLabels", "COpenBLAS"]
        ),
        .target(name: "TimbreTagging", dependencies: ["TimbreCore", "TimbreAudio", "TimbreDSP", "TimbreNN", "COpenBLAS"]),
        .target(
            name: "TimbrePrepare",
            dependencies: ["TimbreCore", "TimbreAudio", "TimbreDSP", "TimbreStore", "TimbreDatasets", "TimbreConsole", "COpenBLAS", "CZlib"]
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

        .target(name: "TimbreTestSupport", path: "Tests/TimbreTestSupport"),
        .testTarget(name: "TimbreAudioTests", dependencies: ["TimbreTestSupport", "TimbreAudio", "TimbreCore"]),
        .testTarget(name: "TimbreDSPTests", dependencies: ["TimbreDSP"], exclude: ["Fixtures"]),
        .testTarget(name: "TimbreStoreTests", dependencies: ["TimbreTestSupport", "TimbreStore", "TimbreHDF5", "TimbreCore"]),
        .testTarget(name: "TimbreDatasetsTests", dependencies: ["TimbreTestSupport", "TimbreDatasets", "TimbreAudio", "TimbreCore"]),
        .testTarget(name: "TimbrePrepareTests", dependencies: ["TimbreTestSupport", "TimbrePrepare", "TimbreStore", "TimbreAudio", "TimbreCore"]),
        .testTarget(name: "TimbreNNTests", dependencies: ["TimbreNN", "TimbreCore"]),
        .testTarget(name: "TimbreEvaluationTests", dependencies: ["TimbreTestSupport", "TimbreCore", "TimbreEvaluation", "TimbreTraining", "TimbreStore", "TimbreNN", "TimbreDSP", "TimbreAudio"], exclude: ["Fixtures"]),
        .testTarget(name: "TimbreTrainingTests", dependencies: ["TimbreTestSupport", "TimbreCore", "TimbreTraining", "TimbreStore", "TimbreNN", "TimbreHDF5"]),
        .testTarget(name: "TimbreSynthTests", dependencies: ["TimbreTestSupport", "TimbreSynth", "TimbreCore", "TimbreAudio", "TimbreDatasets", "TimbreDSP"]),
        .testTarget(name: "TimbreSeparationTests", dependencies: ["TimbreTestSupport", "TimbreSeparation", "TimbreNN", "TimbreCore", "TimbreAudio", "TimbreDSP", "TimbreDatasets"]),
        .testTarget(name: "TimbreCLITests", dependencies: ["TimbreTestSupport", "timbre", "timbre-fuzz", "TimbreStore", "TimbreAudio", "TimbreCore", "TimbreSynth", "TimbreModel", "TimbreTagging", "TimbreTraining", "TimbreSeparation"]),
    ] + mpiTargets
)
