import ArgumentParser
import Foundation
import RGISBackends
import RGISCore
import RGISFiles
import RGISSample
import RGISStore

struct SampleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Generate the demo city (districts, parcels, buildings, listings, client demands) as GeoJSON files.",
        discussion: """
            The city is fictional and deterministic: the same --seed writes the same bytes. The files are \
            what `geodata/` ships: a <layer>.geojson per layer and events.csv, two years of dated price cuts and \
            status changes (rgis events import); import them with `rgis import`, or pass --database to do it here.

            With --listings, --demands or --parcels it writes a large synthetic metro region instead, for \
            benchmarks: 109 districts on three levels, parcels with one building each, listings, and demands \
            whose search areas are circles and polygons of 200 m – 5 km; 70 % of everything in a dense core, \
            price per m² by district. Features are streamed to the files, so a million of each is fine.

            Example: rgis sample --out geodata --database demo.sqlite
                     rgis sample --out /tmp/metro --listings 1000000 --demands 1000000 --parcels 200000
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

    @Option(help: "Metro region: number of listings (default 1,000,000 when any metro option is given).") var listings: Int?
    @Option(help: "Metro region: number of demands.") var demands: Int?
    @Option(help: "Metro region: number of parcels (each with a building; default 200,000).") var parcels: Int?

    func validate() throws {
        guard clients > 0 else { throw ValidationError("--clients must be at least 1") }
        for (name, value) in [("listings", listings), ("demands", demands), ("parcels", parcels)] {
            if let value, value < 0 { throw ValidationError("--\(name) must not be negative") }
        }
    }

    private func writeMetroRegion() throws -> [(Layer, String)] {
        var options = MetroRegion.Options()
        options.seed = seed
        if let listings { options.listings = listings }
        if let demands { options.demands = demands }
        if let parcels { options.parcels = parcels }
        let written = try MetroRegion(options: options).write(to: out) { layer, count in
            Console.progress(fraction: nil, detail: "\(layer): \(count) features")
        }
        Console.endProgress()
        for (_, path, count) in written { Console.out("\(path): \(count) features\n") }
        return written.map { ($0.0, $0.1) }
    }

    func run() async throws {
        try await reportingErrors {
            do {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            } catch {
                throw RGISError(.io, "cannot create the directory: \(error.localizedDescription)", at: out)
            }
            var files: [(Layer, String)] = []
            let metro = listings != nil || demands != nil || parcels != nil
            if metro { files = try writeMetroRegion() }
            var options = DemoCity.Options()
            options.seed = seed
            options.clients = clients
            for (layer, features) in metro ? [] : DemoCity(options: options).layers {
                let path = (out as NSString).appendingPathComponent("\(layer.rawValue).geojson")
                do {
                    try DemoCity.featureCollection(features).write(toFile: path, atomically: true, encoding: .utf8)
                } catch {
                    throw RGISError(.io, "cannot write: \(error.localizedDescription)", at: path)
                }
                Console.out("\(path): \(features.count) features\n")
                files.append((layer, path))
            }
            var history: String?
            if !metro {
                let path = (out as NSString).appendingPathComponent("events.csv")
                do {
                    try DemoCity(options: options).history.write(toFile: path, atomically: true, encoding: .utf8)
                } catch {
                    throw RGISError(.io, "cannot write: \(error.localizedDescription)", at: path)
                }
                Console.out("\(path): the market's dated changes (rgis events import)\n")
                history = path
            }
            guard let database else { return }
            let store = try await StoreLocation.create(database)
            for (layer, path) in files {
                let options = ImportOptions(layer: layer)
                let report = try await store.importFeatures(from: try FeatureFiles.open(path, options: options, for: store), options: options, progress: nil)
                Console.out("\(database): \(layer) imported \(report.imported)\n")
            }
            if let history {
                Console.out("\(database): \(try await store.importEvents(from: history).recorded) dated changes imported\n")
            }
        }
    }
}
