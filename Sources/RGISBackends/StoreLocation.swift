import Foundation
import RGISCore
import RGISSpatiaLite
import RGISStore

/// The one place that turns a location into a store and names a backend. A location is a file path
/// today (an RGIS SpatiaLite file); every other module opens storage through here.
public enum StoreLocation {
    /// Opens an existing store, applying migrations it lacks. A location opened twice in one process
    /// gives the same store (the same connections).
    ///
    /// Migrations: each runs in one transaction that holds the store's write lock (other writers and
    /// openers wait; readers go on, seeing the store as it was); killed part-way, it is rolled back whole
    /// and the next open runs it again. A store already current takes no lock. A store upgraded by a
    /// newer RGIS is refused (`.invalidValue`), never written.
    public static func open(_ location: String) throws -> any Store {
        try SpatiaLiteStore.open(at: location)
    }

    /// Creates the store (or upgrades an existing RGIS store in place) with every layer; refuses a
    /// location that holds another application's data. Killed part-way, it leaves a store the next
    /// `create` or `open` completes (SpatiaLite tags the file first, so a half-made file is not
    /// mistaken for another application's).
    public static func create(_ location: String) throws -> any Store {
        SpatiaLiteStore(try RGISDatabase.create(at: location))
    }

    /// Puts a backup in place of the store at `location`, which nothing may have open meanwhile: the
    /// backup is checked first and the old store is replaced whole or not at all.
    @discardableResult
    public static func restore(from backup: String, to location: String, replacing: Bool) throws -> BackupReport {
        try RGISDatabase.restore(from: backup, to: location, replacing: replacing)
    }
}
