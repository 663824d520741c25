import ArgumentParser
import Foundation
import RGISBackends
import RGISCore
import RGISFiles
import RGISStore

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a GeoJSON, CSV, Shapefile, GeoPackage or other GIS file into a layer, all rows or none.",
        discussion: """
            The format is recognised by content. GeoJSON must be an RFC 7946 FeatureCollection. Every other \
            vector format is read through GDAL: Shapefile (with its .prj; also zipped), GeoPackage, FlatGeobuf, \
            FileGDB (a .gdb directory), KML, GPX, GML, and XLSX or ODS sheets with coordinate columns as in CSV. Their CRS comes from the file (else --srid) and PROJ \
            transforms it to EPSG:4326; --source-layer picks one layer of a file that holds several. \
            Shapefile field names cut to 10 characters (living_are) are read as the field they begin. CSV (comma, semicolon or tab separated, found \
            from the header; UTF-8 with or without BOM; --decimal-comma for 9,05) needs lon and lat columns (also \
            longitude/latitude, x/y) or a WKT column (wkt, geometry). Properties whose names are fields of the layer \
            are stored typed; all others are kept as they came and exported again.

            Ids: each record keeps its source id: the Feature's id, else the property named by --id-field, \
            else a property named id. Records without one get a generated id (listing-17).

            The import is one transaction: the first bad feature stops it and nothing is stored, unless \
            --skip-invalid is given. A killed import leaves the database as it was.

            Examples:
              rgis import db.sqlite --layer listings in.geojson --map price=list_price
              rgis import city.sqlite --layer parcels plots.csv --srid 3857
              rgis import city.sqlite --layer demands wishes.geojson --radius-m 800
              rgis import city.sqlite --layer parcels cadastre.zip
              rgis import city.sqlite --layer buildings city.gpkg --source-layer footprints
            """
    )

    @OptionGroup var target: DatabaseArgument

    @Option(help: "The layer to import into: \(Layer.allCases.map(\.rawValue).joined(separator: ", ")).")
    var layer: String

    @Argument(help: "The file (GeoJSON, CSV, Shapefile, GeoPackage, FlatGeobuf, KML, GPX, GML, XLSX, ODS, a .gdb directory), or - for GeoJSON or CSV on standard input.")
    var file: String

    @Option(help: "EPSG code of the file's coordinates when they are not WGS84 lon/lat; transformed to 4326 with PROJ.")
    var srid: Int32?

    @Option(help: "Rename source properties onto layer fields: source=field,... (e.g. price=list_price).")
    var map: String?

    @Option(name: .customLong("id-field"), help: "The property that holds each record's id, when features have no id member.")
    var idField: String?

    @Flag(name: .customLong("skip-invalid"), help: "Import the valid rows and list the rejected ones, instead of refusing the file.")
    var skipInvalid = false

    @Flag(help: "Replace records whose id is already stored (a duplicate id is an error otherwise).")
    var upsert = false

    @Option(name: .customLong("radius-m"), help: "Search radius in metres for demands given as points without a radius_m property.")
    var radiusMetres: Double?

    @Option(help: "The file format, when the content does not tell: geojson, csv, or gdal (any vector format GDAL reads).")
    var format: SourceFormat?

    @Option(name: .customLong("source-layer"), help: "The layer to read from a file that holds several (a GeoPackage, a FileGDB, a GPX file).")
    var sourceLayer: String?

    @Flag(name: .customLong("decimal-comma"), help: "CSV numbers are written with a decimal comma (9,05 and 1.234,5), as spreadsheets save them in much of Europe.")
    var decimalComma = false

    func run() async throws {
        try await reportingErrors {
            var options = ImportOptions(layer: try Layer(parsing: layer))
            options.decimalComma = decimalComma
            if let srid { options.sourceSRID = SRID(srid) }
            if let map { options.mapping = try FieldMapping(parsing: map, for: options.layer) }
            options.idField = idField
            options.skipInvalid = skipInvalid
            options.upsert = upsert
            options.defaultRadiusMetres = radiusMetres
            options.format = format
            options.sourceLayer = sourceLayer
            if let radiusMetres, !(1...100_000).contains(radiusMetres) {
                throw RGISError(.invalidValue, "--radius-m \(radiusMetres) must be between 1 and 100000 metres")
            }

            let store = try await StoreLocation.open(target.database)
            let report = try await store.importFeatures(from: try FeatureFiles.open(file, options: options, for: store), options: options) { p in
                let fraction = p.totalBytes.map { Double(p.bytesRead) / Double(max(1, $0)) }
                Console.progress(fraction: fraction, detail: "\(p.rowsRead) rows")
            }
            Console.endProgress()
            print(report: report, layer: options.layer)
        }
    }

    private func print(report: ImportReport, layer: Layer) {
        let rate = report.seconds > 0 ? Int(Double(report.rowsRead) / report.seconds) : 0
        var text = report.source.map { "\(file): \($0)\n" } ?? ""
        text += "\(file) → \(layer): read \(report.rowsRead), imported \(report.imported)"
        if report.updated > 0 { text += " (\(report.inserted) new, \(report.updated) replaced)" }
        text += ", rejected \(report.rejectedCount) in \(String(format: "%.2f", report.seconds)) s (\(rate) rows/s)\n"
        for rejection in report.rejected {
            text += "  rejected \(rejection.location): \(rejection.reason)\n"
        }
        if report.rejectedCount > report.rejected.count {
            text += "  … and \(report.rejectedCount - report.rejected.count) more rejected\n"
        }
        Console.out(text)
    }
}

extension SourceFormat: ExpressibleByArgument {}
