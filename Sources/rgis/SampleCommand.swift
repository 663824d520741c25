import ArgumentParser
import Foundation
import RGISCore
import RGISSample
import RGISStore

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Generate the demo city (districts, parcels, buildings, listings, client demands) as GeoJSON files.",
        discussion: """
            The city is fictional and deterministic: the same --seed writes the same bytes. The files are \
            what `geodata/` ships; import them with `rgis import`, or pass --database to do it here.

            Example: rgis sample --out geodata --database demo.sqlite
            """
    )

    @Option(help: "Directory to write <layer>.geojson files into.")
    var out: String

    @Option(help: "Seed of the generator.")
    var seed: UInt64 = 42

    @Option(help: "Number of clients (each with one or two demands).")
    var clients: Int = 600

    @Option(help: "Also create this database (rgis init) and import every layer into it.")
    var database: String?

    func validate() throws {
        guard clients > 0 else { throw ValidationError("--clients must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            var options = DemoCity.Options()
            options.seed = seed
            options.clients = clients
            let city = DemoCity(options: options)
            do {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            } catch {
                throw RGISError(.io, "cannot create the directory: \(error.localizedDescription)", at: out)
            }
            var files: [(Layer, String)] = []
            for (layer, features) in city.layers {
                let path = (out as NSString).appendingPathComponent("\(layer.rawValue).geojson")
                do {
                    try DemoCity.featureCollection(features).write(toFile: path, atomically: true, encoding: .utf8)
                } catch {
                    throw RGISError(.io, "cannot write: \(error.localizedDescription)", at: path)
                }
                Console.out("\(path): \(features.count) features\n")
                files.append((layer, path))
            }
            guard let database else { return }
            let db = try RGISDatabase.create(at: database)
            for (layer, path) in files {
                let report = try db.importFeatures(from: path, options: ImportOptions(layer: layer))
                Console.out("\(database): \(layer) imported \(report.imported)\n")
            }
        }
    }
}
