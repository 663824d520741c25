import CSpatiaLite
import GRDB
import GRDBSQLite
import RGISCore
import RGISStore

/// Loads SpatiaLite into SQLite connections opened by GRDB.
///
/// We call `spatialite_init_ex` on the connection's handle rather than `load_extension('mod_spatialite')`:
/// it needs no extension loading enabled on the connection (a smaller attack surface for a server that
/// runs user-supplied values through SQL), it fails at link time instead of at run time when the library
/// is missing, and it is guaranteed to bind the same system `libsqlite3` that GRDB's `GRDBSQLite` links.
/// The per-connection cache is released by a destructor SQLite runs when the connection closes.
enum SpatiaLiteConnection {
    static func load(into db: Database) throws {
        guard let handle = db.sqliteConnection else { return }
        guard let cache = spatialite_alloc_connection() else {
            throw RGISError(.database, "spatialite_alloc_connection failed")
        }
        spatialite_init_ex(handle, cache, 0)
        // A function kept for its destructor, which SQLite calls when the connection closes. It needs a
        // body: registering one with no callbacks at all means "delete", which runs the destructor at once.
        let rc = sqlite3_create_function_v2(
            handle, "rgis_spatialite_cache", 0, SQLITE_UTF8, cache,
            { context, _, _ in sqlite3_result_null(context) }, nil, nil,
            { cache in if let cache { spatialite_cleanup_ex(cache) } }
        )
        if rc != SQLITE_OK {
            spatialite_cleanup_ex(cache)
            throw RGISError(.database, "could not register the SpatiaLite cache destructor (rc \(rc))")
        }
    }
}
