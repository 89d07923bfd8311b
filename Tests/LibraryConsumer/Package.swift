// swift-tools-version: 6.0
import PackageDescription
import Foundation

/// Another package using Timbre's library products by version, as a user's package would.
/// SwiftPM refuses a versioned dependency whose targets carry unsafe build flags, so this
/// builds only while TimbreKit has none. `scripts/library-check.sh` tags a git copy of the
/// checkout and passes its URL in TIMBRE_PACKAGE_URL.
let timbre = ProcessInfo.processInfo.environment["TIMBRE_PACKAGE_URL"] ?? "https://github.com/timbre-mir/timbre"

let package = Package(
    name: "LibraryConsumer",
    platforms: [.macOS(.v13)],
    dependencies: [.package(url: timbre, from: "0.1.0")],
    targets: [
        .executableTarget(name: "timbre-library-check", dependencies: [.product(name: "TimbreKit", package: "timbre")]),
    ]
)
