import Foundation
import RGISCore
import RGISPostGIS
import RGISSpatiaLite
import RGISStore

/// What `rgis copy` did: the rows of every carried table, the same at both ends.
public struct CopyReport: Sendable {
    public var source: String
    public var target: String
    /// Rows per table, in ``CopiedTable/all`` order.
    public var rows: [(table: String, rows: Int)]
    public var seconds: Double
}

extension StoreLocation {
    /// Rows handed over per batch: large enough that a statement's cost is the rows', small enough that
    /// a million listings never sit in memory at once.
    static let copyBatchRows = 2_000

    /// Copies the whole store at `source` (left as it is; writers may go on, the copy holds one snapshot)
    /// into a new store at `target`, either backend to either: every carried table (``CopiedTable/all``)
    /// with its ids, then the counts of every table compared at both ends.
    ///
    /// A file target must not exist; it is written beside its place and put there only once complete
    /// and checked. A PostgreSQL target is created when the server lacks it (as `rgis init` does) and
    /// must hold no record; it is loaded in one transaction. Killed part-way, neither holds a half copy.
    public static func copy(from source: String, to target: String, progress: ((String, Int) -> Void)? = nil) async throws -> CopyReport {
        let start = Date()
        let from = try await open(source)
        let fromPostgres = PostGISStore.handles(source)
        let toPostgres = PostGISStore.handles(target)
        if !toPostgres, FileManager.default.fileExists(atPath: target) {
            throw RGISError(.conflict, "exists; copy writes a new store (choose a new file, or remove this one first)", at: target)
        }
        if fromPostgres == toPostgres, (try? sameStore(source, target)) == true {
            throw RGISError(.invalidValue, "is the source itself; copy to another store", at: target)
        }
        var read: [String: Int] = [:]
        func load(into store: any Store) async throws {
            try await store.loadCopy { write in
                try await from.readCopy(batchRows: copyBatchRows) { batch in
                    try await write(batch)
                    read[batch.table.name, default: 0] += batch.rows.count
                    progress?(batch.table.name, read[batch.table.name]!)
                }
            }
        }
        let written: [String: Int]
        if toPostgres {
            let store = try await PostGISStore.create(target)
            try await load(into: store)
            written = try await store.copiedCounts()
        } else {
            try await loadFile(target, load)
            written = try await open(target).copiedCounts()
        }
        for table in CopiedTable.all where written[table.name] != read[table.name] {
            throw RGISError(.database, "\(table.name): \(read[table.name] ?? 0) rows read but \(written[table.name] ?? 0) at the target; the copy is not complete", at: target)
        }
        return CopyReport(source: from.location, target: target, rows: CopiedTable.all.map { ($0.name, read[$0.name] ?? 0) },
                          seconds: Date().timeIntervalSince(start))
    }

    /// Loads a new file beside `path`, then puts a checked copy of it in place (``StoreMaintenance/backup(to:replacing:)``,
    /// which renames only once complete); the loading file is removed whatever happens.
    private static func loadFile(_ path: String, _ load: (any Store) async throws -> Void) async throws {
        let loading = path + ".copying-\(ProcessInfo.processInfo.processIdentifier)"
        func removeLoading() {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: loading + suffix) }
        }
        removeLoading()
        defer { removeLoading() }
        let store = SpatiaLiteStore(try RGISDatabase.create(at: loading))
        try await load(store)
        _ = try await store.backup(to: path, replacing: false)
    }

    /// Whether two locations of one backend name the same store.
    private static func sameStore(_ a: String, _ b: String) throws -> Bool {
        if PostGISStore.handles(a) { return try PostGISStore.sameDatabase(a, b) }
        let left = URL(fileURLWithPath: a).standardizedFileURL.resolvingSymlinksInPath().path
        let right = URL(fileURLWithPath: b).standardizedFileURL.resolvingSymlinksInPath().path
        return left == right
    }
}
