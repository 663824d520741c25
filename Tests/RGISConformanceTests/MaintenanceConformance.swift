import Foundation
import RGISBackends
import RGISCore
import RGISFiles
import RGISStore
import RGISTesting
import Testing

/// The operator's operations (``StoreMaintenance``) on every backend: imports all or nothing, a
/// backup that restores to the same answers, a check that passes on what the store wrote itself.
@Suite("Conformance: import, check, backup and restore")
struct MaintenanceConformance {
    @Test("an import with a bad row stores nothing, names the row, and a good import is counted exactly", arguments: Backends.all)
    func importAllOrNothing(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        let good = #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,48.03]},"properties":{"list_price":250000}}"#
        let bad = #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,48.03]},"properties":{"list_price":-5}}"#
        let file = try dir.write("listings.geojson", #"{"type":"FeatureCollection","features":[\#(good),\#(good),\#(bad)]}"#)
        let refused = await #expect(throws: RGISError.self) {
            _ = try await store.importFeatures(from: file, options: ImportOptions(layer: .listings), progress: nil)
        }
        #expect(refused?.description.contains("list_price") == true, "\(String(describing: refused))")
        #expect(try await store.info().layers.first { $0.layer == .listings }?.count == 0)
        let fine = try dir.write("fine.geojson", #"{"type":"FeatureCollection","features":[\#(good),\#(good)]}"#)
        let report = try await store.importFeatures(from: fine, options: ImportOptions(layer: .listings), progress: nil)
        #expect(report.imported == 2)
        #expect(try await backend.reopen(store).info().layers.first { $0.layer == .listings }?.count == 2)
    }

    @Test("the demo city imported through the store checks clean; its backup restores to the same counts and the same radius answer",
          arguments: Backends.all)
    func backupRestores(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir, "city")
        try await store.loadDemoCity()
        #expect(try await store.check().isEmpty)
        let backup = dir.path("city.backup")
        _ = try await store.backup(to: backup, replacing: false)
        let target = try backend.location(dir, "restored")
        try await StoreLocation.restore(from: backup, to: target, replacing: false)
        let restored = try await StoreLocation.open(target)
        let counts = { (s: any Store) async throws -> [String: Int] in
            Dictionary(uniqueKeysWithValues: try await s.info().layers.map { ($0.layer.rawValue, $0.count) })
        }
        #expect(try await counts(restored) == counts(store))
        let query = RadiusQuery(centre: try Centre(lon: 9.0537, lat: 48.027), radius: try RadiusMetres(1500), limit: try Limit(10_000))
        #expect(try await restored.radius(query).features.map(\.id) == store.radius(query).features.map(\.id))
        #expect(try await restored.check().isEmpty)
    }
}
