import ArgumentParser
import Foundation
import RGISBackends
import RGISCore
import RGISFiles
import RGISStore

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a layer as GeoJSON or CSV on standard output, or as a GeoPackage, Shapefile, FlatGeobuf or XLSX file.",
        discussion: """
            Each feature carries its stored id and its properties, on WGS84 (EPSG:4326, lon/lat). --bbox selects \
            through the spatial index; a box whose minx is greater than its maxx crosses the antimeridian.

            Formats: \(ExportFormat.summary). CSV and XLSX have a header and a row per feature: id, lon and \
            lat (points) or wkt (polygons), the layer's fields, then every other property found. The file \
            formats are written through GDAL, with the layer's fields typed (integers, reals, dates); a \
            Shapefile cuts names to 10 characters (living_area_m2 becomes living_are), as every Shapefile \
            does. --output writes a file, complete or not at all; without it GeoJSON and CSV go to standard \
            output. The format defaults to what the output's name says (.gpkg, .shp.zip, .fgb, .xlsx, .csv).

            Example: rgis export city.sqlite --layer listings --bbox 13.40,52.53,13.43,52.55 > listings.geojson
                     rgis export city.sqlite --layer parcels --output parcels.gpkg
                     rgis export city.sqlite --layer parcels --format shp --output parcels.shp.zip
                     rgis export city.sqlite --layer listings --format csv > listings.csv
            """
    )

    @OptionGroup var target: DatabaseArgument

    @Option(help: "The layer to export: \(Layer.allCases.map(\.rawValue).joined(separator: ", ")).")
    var layer: String

    @Option(parsing: .unconditional, help: "Only features intersecting minx,miny,maxx,maxy (lon/lat degrees).")
    var bbox: String?

    @Option(help: "Output: \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", ")) (default: from --output's name, else geojson).")
    var format: ExportFormat?

    @Option(help: "The file to write (replaced when complete). Needed for gpkg, shp, fgb and xlsx.")
    var output: String?

    func run() async throws {
        try await reportingErrors {
            let layer = try Layer(parsing: layer)
            let box = try bbox.map { try BBox(parsing: $0) }
            let format = try chosenFormat()
            let store = try await StoreLocation.open(target.database)
            let count: Int
            switch (format, output) {
            case (.geojson, nil): count = try await store.exportText(layer: layer, bbox: box, format: .geojson) { Console.out($0) }
            case (.csv, nil): count = try await store.exportText(layer: layer, bbox: box, format: .csv) { Console.out($0) }
            case (.geojson, let path?), (.csv, let path?): count = try await Self.writeText(to: path, sparing: store) { write in
                    try await store.exportText(layer: layer, bbox: box, format: format == .csv ? .csv : .geojson, write: write)
                }
            case (_, let path?): count = try await store.exportFile(layer: layer, bbox: box, format: format, to: path)
            case (_, nil): throw RGISError(.invalidValue, "\(format.rawValue) is a file format; give --output FILE", at: "output")
            }
            if Console.isErrorTerminal || output != nil { Console.note("\(count) features\(output.map { " written to \($0)" } ?? "")") }
        }
    }

    private func chosenFormat() throws -> ExportFormat {
        if let format { return format }
        guard let output else { return .geojson }
        guard let implied = ExportFormat(fileName: output) else {
            throw RGISError(.invalidValue, "cannot tell the format from the name \(URL(fileURLWithPath: output).lastPathComponent); give --format (\(ExportFormat.allCases.map(\.rawValue).joined(separator: ", ")))", at: "format")
        }
        return implied
    }

    /// Text written beside `path`, then renamed over it once complete.
    private static func writeText(to path: String, sparing store: any Store, _ body: ((String) throws -> Void) async throws -> Int) async throws -> Int {
        try await AtomicFile.write(to: path, ending: "part", sparing: store) { partial in
            guard FileManager.default.createFile(atPath: partial, contents: nil), let handle = FileHandle(forWritingAtPath: partial) else {
                throw RGISError(.io, "cannot write \(path)", at: "output")
            }
            defer { try? handle.close() }
            return try await body { try handle.write(contentsOf: Data($0.utf8)) }
        }
    }
}

extension ExportFormat: ExpressibleByArgument {}
