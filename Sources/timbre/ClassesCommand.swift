import ArgumentParser
import TimbreDatasets

struct ClassesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classes",
        abstract: "List the instrument classes Timbre knows, with their families.",
        discussion: """
            The codes are the ones feature files, models and tags use (IRMAS's eleven plus \
            drums and electric bass); labels/taxonomy.csv holds the same table.
            """
    )

    @Flag(help: "Print CSV (code,name,family) instead of a table.")
    var csv = false

    func run() throws {
        let classes = Taxonomy.standard.classes
        if csv {
            print("code,name,family")
            for item in classes { print("\(item.code),\(item.name),\(item.family)") }
            return
        }
        let nameWidth = max(4, classes.map(\.name.count).max() ?? 0)
        print("CODE  " + "NAME".padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  FAMILY")
        for item in classes {
            print(item.code.padding(toLength: 4, withPad: " ", startingAt: 0) + "  " + item.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  " + item.family)
        }
    }
}
