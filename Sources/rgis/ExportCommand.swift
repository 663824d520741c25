import ArgumentParser
import Foundation
import RGISCore
import RGISStore

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a layer as an RFC 7946 GeoJSON FeatureCollection, or as CSV, on standard output.",
        discussion: """
            Each feature carries its stored id and its properties. --bbox selects through the spatial index; \
            a box whose minx is greater than its maxx crosses the antimeridian. --format csv writes a header \
            and a row per feature for spreadsheets: id, lon and lat (points) or wkt (polygons), the layer's \
            fields, then every other property found.

            Example: rgis export city.sqlite --layer listings --bbox 13.40,52.53,13.43,52.55 > listings.geojson
                     rgis export city.sqlite --layer parcels --format csv > parcels.csv
            """
    )

    @OptionGroup var target: DatabaseArgument

    @Option(help: "The layer to export: \(Layer.allCases.map(\.rawValue).joined(separator: ", ")).")
    var layer: String

    @Option(parsing: .unconditional, help: "Only features intersecting minx,miny,maxx,maxy (lon/lat degrees).")
    var bbox: String?

    enum Format: String, ExpressibleByArgument, CaseIterable { case geojson, csv }
    @Option(help: "Output: geojson or csv.") var format: Format = .geojson

    func run() throws {
        try reportingErrors {
            let layer = try Layer(parsing: layer)
            let box = try bbox.map { try BBox(parsing: $0) }
            let database = try RGISDatabase.open(at: target.database)
            let count = format == .csv
                ? try database.exportCSV(layer: layer, bbox: box) { Console.out($0) }
                : try database.exportGeoJSON(layer: layer, bbox: box) { Console.out($0) }
            if Console.isErrorTerminal { Console.note("\(count) features") }
        }
    }
}
