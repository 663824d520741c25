import ArgumentParser
import RGISBackends
import RGISCore
import RGISStore

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create an RGIS database, or upgrade an older one in place.",
        discussion: """
            Creates the SpatiaLite metadata and the layers listings (POINT), parcels, buildings, districts \
            and demands (MULTIPOLYGON), all in EPSG:4326 with a spatial index, plus clients, client_contacts \
            and events. Running it on an existing RGIS database applies the migrations it lacks.

            --local-crs records the national or local CRS the database's users work in (EPSG:2100, \
            EPSG:25833, EPSG:2263 …): rgis serve then offers it, beside CRS84, EPSG:4326 and EPSG:3857, for \
            the crs and bbox-crs parameters of OGC API – Features Part 2. Data stays stored in EPSG:4326.

            Example: rgis init city.sqlite --local-crs EPSG:25833
            """
    )

    @OptionGroup var target: DatabaseArgument

    @Option(name: .customLong("local-crs"), help: "The local CRS to offer over HTTP (EPSG:N, or a CRS URI); 'none' forgets it.")
    var localCRS: String?

    func run() async throws {
        try await reportingErrors {
            let store = try await StoreLocation.create(target.database)
            if let localCRS {
                try await store.setLocalCRS(localCRS == "none" ? nil : try CRSReference(parsing: localCRS, at: "local-crs"))
            }
            let info = try await store.info()
            let crs = try await store.localCRS().map { ", local CRS \($0.projName)" } ?? ""
            Console.out("\(target.database): RGIS database, schema \(info.schemaVersion), layers \(info.layers.map(\.layer.rawValue).joined(separator: ", "))\(crs)\n")
        }
    }
}
