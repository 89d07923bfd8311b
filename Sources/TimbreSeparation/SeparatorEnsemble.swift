import Foundation
import TimbreCore
import TimbreNN

/// One network of an ensemble separator: the name its graph nodes and parameters sit
/// under, its share of the averaged masks, and how it hears audio (its own input
/// standardisation, with the STFT, chunk and stems every member shares).
public struct EnsembleMember: Codable, Equatable, Sendable {
    public var name: String
    public var weight: Float
    public var settings: SeparatorSettings
}

extension SeparatorModel {
    /// The most networks an ensemble file may hold.
    public static let maximumMembers = 8

    /// Several trained networks heard as one separator: each chunk's masks are the weighted
    /// mean of the networks' masks, each normalised across stems first, so they still sum
    /// to one. Networks trained apart make different mistakes, and averaging them
    /// separates better than either (a common practice of separation systems); the cost is
    /// one network pass per member. The networks must share the STFT, chunk length and
    /// stems; their input standardisations may differ. Weights are normalised to sum to one.
    public static func ensemble(_ parts: [(model: SeparatorModel, weight: Float)]) throws -> SeparatorModel {
        guard let first = parts.first?.model else { throw FileError(path: "ensemble", reason: "no separators given") }
        let total = parts.reduce(Float(0)) { $0 + $1.weight }
        var members: [EnsembleMember] = []
        var spec = GraphSpec(inputs: [], nodes: [], outputs: [])
        for (index, part) in parts.enumerated() {
            let name = "member\(index + 1)"
            if let problem = memberProblem(part.model) { throw FileError(path: "ensemble", reason: "\(name) \(problem)") }
            members.append(EnsembleMember(name: name, weight: part.weight / total, settings: part.model.settings))
            // Every tensor, and so every parameter, of the member under its name.
            let own = part.model.spec
            spec.inputs += own.inputs.map { .init(name: "\(name)/\($0.name)", shape: $0.shape) }
            spec.nodes += own.nodes.map { GraphSpec.Node("\(name)/\($0.name)", $0.layer, inputs: $0.inputs.map { "\(name)/\($0)" }) }
            spec.outputs += own.outputs.map { "\(name)/\($0)" }
        }
        var settings = first.settings
        settings.architecture = "ensemble"
        settings.mode = ""
        // The level the ensemble brings a recording to (`InputLevel`): the members' mean.
        settings.inputMean = (0..<settings.bins).map { f in members.reduce(Float(0)) { $0 + $1.weight * $1.settings.inputMean[f] } }
        settings.inputScale = (0..<settings.bins).map { f in members.reduce(Float(0)) { $0 + $1.weight * $1.settings.inputScale[f] } }
        let ensemble = try SeparatorModel(settings: settings, spec: spec, members: members)
        let slices = Dictionary(uniqueKeysWithValues: ensemble.store.slices.map { ($0.name, $0) })
        for (member, part) in zip(members, parts) {
            for slice in part.model.store.slices {
                guard let target = slices["\(member.name)/\(slice.name)"], target.count == slice.count else {
                    throw FileError(path: "ensemble", reason: "\(member.name): parameter \(slice.name) has no place in the ensemble")
                }
                ensemble.store.values(target).update(from: part.model.store.values(slice), count: slice.count)
            }
            for (node, norm) in part.model.batchNorms {
                guard let target = ensemble.batchNorms["\(member.name)/\(node)"] else { continue }
                target.runningMean = norm.runningMean
                target.runningVariance = norm.runningVariance
            }
        }
        return ensemble
    }

    /// Why a separator cannot join an ensemble ("is the floor", ...), or nil for one network.
    public static func memberProblem(_ model: SeparatorModel) -> String? {
        if model.isFloor { return "is the floor, not a network" }
        if !model.members.isEmpty { return "is an ensemble; an ensemble joins single networks" }
        return model.spec.inputs.count == 1 && model.spec.outputs.count == 1 ? nil : "is not one network of one input and one output"
    }

    /// Why the members an ensemble file lists cannot be used with its shared settings, or nil.
    static func ensembleProblem(_ settings: SeparatorSettings, _ members: [EnsembleMember]) -> String? {
        guard !members.isEmpty || settings.architecture != "ensemble" else { return "an ensemble without members" }
        guard !members.isEmpty else { return nil }
        guard settings.architecture == "ensemble", settings.fixedMasks == nil else { return "members listed for a separator that is not an ensemble" }
        guard members.count >= 2, members.count <= maximumMembers else { return "an ensemble of \(members.count) members (2 to \(maximumMembers) are read)" }
        guard Set(members.map(\.name)).count == members.count, members.allSatisfy({ !$0.name.isEmpty && !$0.name.contains("/") }) else {
            return "ensemble members have empty, nested or repeated names"
        }
        guard members.allSatisfy({ $0.weight.isFinite && $0.weight > 0 && $0.weight <= 1 }) else { return "an ensemble member's weight is not in (0, 1]" }
        for member in members {
            let s = member.settings
            if let problem = s.problem() { return "\(member.name): \(problem)" }
            guard s.fixedMasks == nil, s.architecture != "ensemble" else { return "\(member.name) is not one network" }
            guard s.sampleRate == settings.sampleRate, s.fftSize == settings.fftSize, s.hopLength == settings.hopLength,
                  s.bins == settings.bins, s.frames == settings.frames, s.stems == settings.stems else {
                return "\(member.name) hears another STFT, chunk or stems than the ensemble"
            }
        }
        return nil
    }
}
