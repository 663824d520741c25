import ArgumentParser
import Foundation
import RGISCore
import RGISStore

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a layer as an RFC 7946 GeoJSON FeatureCollection on standard output.",
        discussion: """
            Each feature carries its stored id and its properties. --bbox selects through the spatial index; \
            a box whose minx is greater than its maxx crosses the antimeridian.

            Example: rgis export city.sqlite --layer listings --bbox 13.40,52.53,13.43,52.55 > listings.geojson
            """
    )

    @OptionGroup var target: DatabaseArgument

    @Option(help: "The layer to export: \(Layer.allCases.map(\.rawValue).joined(separator: ", ")).")
    var layer: String

    @Option(parsing: .unconditional, help: "Only features intersecting minx,miny,maxx,maxy (lon/lat degrees).")
    var bbox: String?

    func run() throws {
        try reportingErrors {
            let layer = try Layer(parsing: layer)
            let box = try bbox.map { try BBox(parsing: $0) }
            let database = try RGISDatabase.open(at: target.database)
            let count = try database.exportGeoJSON(layer: layer, bbox: box) { Console.out($0) }
            if Console.isErrorTerminal { Console.note("\(count) features") }
        }
    }
}
