import ArgumentParser
import Foundation
import TimbreCore
import TimbreStore

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Put the feature files of `prepare --shard` together as one.",
        discussion: """
            The shards must agree on classes and feature settings; the first difference is \
            reported and nothing is written. By default /mel of the merged file is an HDF5 \
            virtual dataset over the shards' /mel (nothing is copied; keep the shards where \
            they are). --copy writes a self-contained file instead.
            """
    )

    @Argument(help: "Shard feature files, in order.")
    var shards: [String]

    @Option(name: .shortAndLong, help: "Feature file to write.")
    var output: String

    @Flag(help: "Copy the clips instead of referring to the shards.")
    var copy = false

    func run() throws {
        let destination = URL(fileURLWithPath: output)
        try reportingErrors {
            try OutputPath.checkFile(destination)
            try OutputPath.checkNotAnInput(destination, inputs: shards)
            try FileProbe.check(shards, as: .features)
            try FeatureFileMerger.merge(shards.map { URL(fileURLWithPath: $0) }, into: destination, copy: copy)
        }
        print("wrote \(output): \(shards.count) shards \(copy ? "copied" : "referred to")")
    }
}
