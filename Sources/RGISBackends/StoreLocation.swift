import Foundation
import RGISCore
import RGISPostGIS
import RGISSpatiaLite
import RGISStore

/// The one place that turns a location into a store and names a backend. A location is a file path
/// (an RGIS SpatiaLite file) or a `postgresql://user@host:port/database` URL (PostGIS; the password
/// from `PGPASSWORD` or `~/.pgpass`); every other module opens storage through here.
public enum StoreLocation {
    /// Opens an existing store, applying migrations it lacks. A location opened twice in one process
    /// gives the same store (the same connections).
    ///
    /// Migrations: each runs in one transaction that holds the store's write lock (other writers and
    /// openers wait; readers go on, seeing the store as it was); killed part-way, it is rolled back whole
    /// and the next open runs it again. A store already current takes no lock. A store upgraded by a
    /// newer RGIS is refused (`.invalidValue`), never written.
    ///
    /// A PostgreSQL store is never migrated by `open` (a server may start against a read-only standby):
    /// one lacking migrations is refused with the advice to run `rgis init`.
    public static func open(_ location: String) async throws -> any Store {
        try await open(location, readingFrom: nil)
    }

    /// Opens a store whose requests read from a hot standby (PostgreSQL only: `standby` must be a
    /// streaming replica of the database at `location`; see ``StoreReads``).
    public static func open(_ location: String, readingFrom standby: String?) async throws -> any Store {
        if PostGISStore.handles(location) { return try await PostGISStore.open(location, readingFrom: standby) }
        if let standby {
            throw RGISError(.invalidValue, "a standby to read from is for a PostgreSQL database; a SpatiaLite file's readers already share its one file", at: standby)
        }
        return try SpatiaLiteStore.open(at: location)
    }

    /// Creates the store (or upgrades an existing RGIS store in place) with every layer; refuses a
    /// location that holds another application's data. Killed part-way, it leaves a store the next
    /// `create` or `open` completes (SpatiaLite tags the file first, so a half-made file is not
    /// mistaken for another application's).
    ///
    /// On PostgreSQL, the database is created when the server lacks it, then PostGIS and the migrations.
    public static func create(_ location: String) async throws -> any Store {
        if PostGISStore.handles(location) { return try await PostGISStore.create(location) }
        return SpatiaLiteStore(try RGISDatabase.create(at: location))
    }

    /// Puts a backup in place of the store at `location`, which nothing may have open meanwhile: the
    /// backup is checked first and the old store is replaced whole or not at all.
    @discardableResult
    public static func restore(from backup: String, to location: String, replacing: Bool) async throws -> BackupReport {
        if PostGISStore.handles(location) { return try await PostGISStore.restore(from: backup, to: location, replacing: replacing) }
        if PostGISStore.isBackup(backup) {
            throw RGISError(.notAnRGISDatabase, "is a PostgreSQL backup; restore it to a postgresql:// location, not a file", at: backup)
        }
        return try RGISDatabase.restore(from: backup, to: location, replacing: replacing)
    }
}
