// swift-tools-version: 6.0
import PackageDescription
import Foundation

/// Another package using Timbre's library products by version, as a user's package would.
/// SwiftPM refuses a versioned dependency whose targets carry unsafe build flags, so this
/// builds only while TimbreKit has none. `scripts/library-check.sh` tags a git copy of the
/// checkout and passes its URL in TIMBRE_PACKAGE_URL; without it, the checkout this folder
/// sits in is used by path (which builds, but does not check the flags).
let timbre: Package.Dependency = ProcessInfo.processInfo.environment["TIMBRE_PACKAGE_URL"]
    .map { .package(url: $0, from: "0.1.0") } ?? .package(name: "timbre", path: "../..")

let package = Package(
    name: "LibraryConsumer",
    platforms: [.macOS(.v13)],
    dependencies: [timbre],
    targets: [
        .executableTarget(name: "timbre-library-check", dependencies: [.product(name: "TimbreKit", package: "timbre")]),
    ]
)
