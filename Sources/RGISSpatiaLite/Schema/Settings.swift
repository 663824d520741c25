import GRDB
import RGISCore
import RGISGeodesy
import RGISStore

/// Settings of a database that its users choose once (`rgis init --local-crs`), as name and value.
enum Settings {
    static let localCRS = "local_crs"

    /// Migration v11.
    static func create(_ db: Database) throws {
        try db.execute(sql: "CREATE TABLE rgis_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    }

    static func value(_ db: Database, _ name: String) throws -> String? {
        try String.fetchOne(db, sql: "SELECT value FROM rgis_settings WHERE name = ?", arguments: [name])
    }
}

extension RGISDatabase {
    /// The national or local CRS this database's users work in, if one was chosen; the server offers
    /// it beside CRS84, EPSG:4326 and EPSG:3857.
    public func localCRS() throws -> CRSReference? {
        try translatingErrors { try pool.read { db in try Settings.value(db, Settings.localCRS).map { try CRSReference(parsing: $0) } } }
    }

    /// Records the local CRS (PROJ must know it as a CRS), or forgets it (nil).
    public func setLocalCRS(_ crs: CRSReference?) throws {
        if let crs {
            guard case .epsg = crs, CRSTransform.isKnown(crs) else {
                throw RGISError(.invalidValue, "\(crs.projName) is not a CRS PROJ knows by an EPSG code", at: "local-crs")
            }
        }
        try writeTransaction { db in
            if let crs {
                try db.execute(sql: "INSERT INTO rgis_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                               arguments: [Settings.localCRS, crs.projName])
            } else {
                try db.execute(sql: "DELETE FROM rgis_settings WHERE name = ?", arguments: [Settings.localCRS])
            }
        }
    }
}

extension SpatiaLiteStore {
    public func localCRS() async throws -> CRSReference? {
        try await read { db in try Settings.value(db, Settings.localCRS).map { try CRSReference(parsing: $0) } }
    }
}
