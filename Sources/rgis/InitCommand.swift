import ArgumentParser
import RGISStore

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create an RGIS database, or upgrade an older one in place.",
        discussion: """
            Creates the SpatiaLite metadata and the layers listings (POINT), parcels, buildings, districts \
            and demands (MULTIPOLYGON), all in EPSG:4326 with a spatial index, plus clients, client_contacts \
            and events. Running it on an existing RGIS database applies the migrations it lacks.
            """
    )

    @OptionGroup var target: DatabaseArgument

    func run() throws {
        try reportingErrors {
            let database = try RGISDatabase.create(at: target.database)
            let info = try database.info()
            Console.out("\(target.database): RGIS database, schema \(info.schemaVersion), layers \(info.layers.map(\.layer.rawValue).joined(separator: ", "))\n")
        }
    }
}
