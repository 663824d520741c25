import Foundation
import RGISBackends
import RGISCore
import RGISFiles
import RGISStore
import RGISTesting
import Testing

/// A backend the conformance suite runs against. Each test takes the backend as its argument, makes
/// its stores only through ``StoreLocation`` at a location the backend names, and asserts only what
/// the store protocols promise; so a new backend joins by adding an entry to ``Backends/all``.
struct Backend: Sendable, CustomTestStringConvertible {
    let name: String
    /// A fresh location for a store of this backend, inside `directory` where it has files.
    let location: @Sendable (_ directory: TemporaryDirectory, _ name: String) throws -> String

    var testDescription: String { name }

    /// A new, empty, migrated store.
    func emptyStore(in directory: TemporaryDirectory, _ name: String = "store") async throws -> any Store {
        try await StoreLocation.create(try location(directory, name))
    }

    /// The same store opened again, as another part of the program (or the next command) would.
    func reopen(_ store: any Store) async throws -> any Store {
        try await StoreLocation.open(store.location)
    }
}

enum Backends {
    /// Every backend, SpatiaLite first: each implements every store protocol.
    static let all: [Backend] = [.spatiaLite, .postGIS]
}

extension Backend {
    static let spatiaLite = Backend(name: "SpatiaLite") { directory, name in directory.path("\(name).sqlite") }
    /// A database of its own on the tests' PostgreSQL server (``PostgresServer``).
    static let postGIS = Backend(name: "PostGIS") { _, name in try PostgresServer.newDatabase(name) }
}

extension Store {
    /// Imports a file of `../shared/geodata` into a layer through the store's import requirement.
    @discardableResult
    func loadShared(_ file: String, into layer: Layer, idField: String? = nil, map: String? = nil,
                    radiusMetres: Double? = nil) async throws -> ImportReport {
        var options = ImportOptions(layer: layer)
        options.idField = idField
        options.defaultRadiusMetres = radiusMetres
        if let map { options.mapping = try FieldMapping(parsing: map, for: layer) }
        return try await importFeatures(from: Fixtures.shared(file), options: options, progress: nil)
    }

    /// Imports every layer of the demo city in `geodata/` and its dated changes (events.csv).
    func loadDemoCity() async throws {
        for layer in Layer.allCases {
            _ = try await importFeatures(from: Fixtures.demo("\(layer.rawValue).geojson"), options: ImportOptions(layer: layer), progress: nil)
        }
        _ = try await importEvents(from: Fixtures.demo("events.csv"))
    }
}

/// Real data shared by the read-only tests, one store per backend: Berlin listings, London boroughs
/// and cycle-hire stations (as listings), Prague plots and buildings.
actor RealData {
    static let shared = RealData()
    private var stores: [String: any Store] = [:]
    private var directories: [TemporaryDirectory] = []

    func store(_ backend: Backend) async throws -> any Store {
        if let store = stores[backend.name] { return store }
        let directory = try Fixtures.temporaryDirectory()
        directories.append(directory)
        let store = try await backend.emptyStore(in: directory, "real")
        try await store.loadShared("berlin-prenzlauer/listings.geojson", into: .listings, map: "price=list_price")
        try await store.loadShared("london/cycle_hire.geojson", into: .listings)
        try await store.loadShared("london/boroughs.geojson", into: .districts, idField: "GSS_CODE", map: "NAME=name")
        try await store.loadShared("prague-bubenec/plots.geojson", into: .parcels, idField: "ID")
        try await store.loadShared("prague-bubenec/buildings.geojson", into: .buildings, idField: "uID")
        stores[backend.name] = store
        return store
    }
}
