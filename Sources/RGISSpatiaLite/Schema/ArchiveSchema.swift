import GRDB
import RGISStore

/// The archive's tables: versions of parcels and buildings, rights, parties, events and lineage.
///
/// Rows are never changed except to mark them superseded (record time ends once), and never deleted:
/// triggers refuse anything else, so history cannot be rewritten by accident, only added to. Each
/// version table has a SpatiaLite R*Tree on its geometry and an integer R*Tree on its two time
/// intervals (valid days × record minutes), so an as-of query is a point lookup in time and space.
enum ArchiveSchema {
    static func create(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE archive_events (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('registration', 'transfer', 'split', 'merge', 'new_building', 'demolition', 'correction')),
                valid_date TEXT NOT NULL,
                recorded_at TEXT NOT NULL,
                document TEXT,
                corrects INTEGER REFERENCES archive_events(id),
                detail TEXT
            );
            CREATE INDEX archive_events_recorded ON archive_events(recorded_at);
            -- Personal data: who a party is stays here, apart from the rights that name the party by id.
            CREATE TABLE archive_parties (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'organisation')),
                name TEXT
            );
            CREATE TABLE archive_rights (
                id INTEGER PRIMARY KEY,
                parcel_id TEXT NOT NULL,
                party_id TEXT NOT NULL REFERENCES archive_parties(id),
                right_type TEXT NOT NULL CHECK (right_type IN ('ownership', 'lease', 'mortgage', 'easement')),
                share_num INTEGER NOT NULL CHECK (share_num > 0),
                share_den INTEGER NOT NULL CHECK (share_den > 0 AND share_num <= share_den),
                valid_from TEXT NOT NULL,
                valid_to TEXT CHECK (valid_to IS NULL OR valid_to > valid_from),
                recorded_at TEXT NOT NULL,
                superseded_at TEXT CHECK (superseded_at IS NULL OR superseded_at >= recorded_at),
                event_id INTEGER NOT NULL REFERENCES archive_events(id),
                ended_by INTEGER REFERENCES archive_events(id),
                superseded_by INTEGER REFERENCES archive_events(id)
            );
            CREATE INDEX archive_rights_parcel ON archive_rights(parcel_id, right_type);
            CREATE INDEX archive_rights_event ON archive_rights(event_id);
            CREATE TABLE archive_lineage (
                event_id INTEGER NOT NULL REFERENCES archive_events(id),
                from_parcel TEXT NOT NULL,
                to_parcel TEXT NOT NULL,
                PRIMARY KEY (from_parcel, to_parcel)
            );
            CREATE INDEX archive_lineage_to ON archive_lineage(to_parcel);
            """)
        for (table, idColumn) in [("archive_parcels", "parcel_id"), ("archive_buildings", "building_id")] {
            let parcelColumn = idColumn == "building_id" ? "parcel_id TEXT," : ""
            try db.execute(sql: """
                CREATE TABLE \(table) (
                    fid INTEGER PRIMARY KEY,
                    \(idColumn) TEXT NOT NULL,
                    \(parcelColumn)
                    valid_from TEXT NOT NULL,
                    valid_to TEXT CHECK (valid_to IS NULL OR valid_to > valid_from),
                    recorded_at TEXT NOT NULL,
                    superseded_at TEXT CHECK (superseded_at IS NULL OR superseded_at >= recorded_at),
                    event_id INTEGER NOT NULL REFERENCES archive_events(id),
                    ended_by INTEGER REFERENCES archive_events(id),
                    superseded_by INTEGER REFERENCES archive_events(id),
                    area_m2 REAL NOT NULL CHECK (area_m2 > 0),
                    properties TEXT
                );
                CREATE INDEX \(table)_id ON \(table)(\(idColumn), valid_from);
                CREATE INDEX \(table)_event ON \(table)(event_id);
                """)
            try Schema.addGeometry(db, table: table, type: "MULTIPOLYGON")
            try createTimeIndex(db, table: table)
        }
        try forbidRewrites(db, table: "archive_rights", keyColumns: ["parcel_id", "party_id", "right_type", "share_num", "share_den",
                                                                   "valid_from", "valid_to", "recorded_at", "event_id", "ended_by"])
    }

    /// `<table>_time`: valid days since 1970 × record minutes since 1970, open ends at Int32.max. The
    /// integer bounds are widened outwards (minutes floor/ceil), so it returns every candidate; the exact
    /// text comparison follows in the query.
    private static func createTimeIndex(_ db: Database, table: String) throws {
        let open = Int32.max
        let bounds = """
            CAST(julianday(NEW.valid_from) - 2440587.5 AS INTEGER),
            COALESCE(CAST(julianday(NEW.valid_to) - 2440587.5 AS INTEGER), \(open)),
            CAST(strftime('%s', NEW.recorded_at) AS INTEGER) / 60,
            COALESCE((CAST(strftime('%s', NEW.superseded_at) AS INTEGER) + 59) / 60, \(open))
            """
        try db.execute(sql: """
            CREATE VIRTUAL TABLE \(table)_time USING rtree_i32(id, valid_from, valid_to, recorded_from, recorded_to);
            CREATE TRIGGER \(table)_time_insert AFTER INSERT ON \(table) BEGIN
                INSERT INTO \(table)_time VALUES (NEW.fid, \(bounds));
            END;
            CREATE TRIGGER \(table)_time_supersede AFTER UPDATE OF superseded_at ON \(table) BEGIN
                UPDATE \(table)_time SET recorded_to = COALESCE((CAST(strftime('%s', NEW.superseded_at) AS INTEGER) + 59) / 60, \(open))
                WHERE id = NEW.fid;
            END;
            """)
        try forbidRewrites(db, table: table, keyColumns: ["valid_from", "valid_to", "recorded_at", "event_id", "ended_by", "area_m2", "geom"])
    }

    /// History is appended to, never rewritten: a row may only be marked superseded, once.
    private static func forbidRewrites(_ db: Database, table: String, keyColumns: [String]) throws {
        let changed = keyColumns.map { "NEW.\($0) IS NOT OLD.\($0)" }.joined(separator: " OR ")
        try db.execute(sql: """
            CREATE TRIGGER \(table)_no_delete BEFORE DELETE ON \(table) BEGIN
                SELECT RAISE(ABORT, 'archive rows are never deleted; record a correction instead');
            END;
            CREATE TRIGGER \(table)_no_rewrite BEFORE UPDATE ON \(table)
            WHEN OLD.superseded_at IS NOT NULL OR \(changed) BEGIN
                SELECT RAISE(ABORT, 'archive rows are never rewritten; record a correction instead');
            END;
            """)
    }
}
