import GRDB
import RGISCore
import RGISStore

/// The schema's history as GRDB migrations. Migrations are history: never edit one that has shipped;
/// add a new one. They spell out their SQL rather than derive it from app types, so that an old
/// migration keeps meaning what it meant when it ran.
enum Schema {
    /// Runs every migration, or those up to `target` (tests build older files this way).
    static func migrate(_ pool: DatabasePool, upTo target: String? = nil) throws {
        try initSpatialMetadata(pool)
        if let target { try migrator.migrate(pool, upTo: target) } else { try migrator.migrate(pool) }
    }

    /// Whether the file has the SpatiaLite metadata and every migration.
    static func isCurrent(_ db: Database) throws -> Bool {
        try db.tableExists("spatial_ref_sys") && migrator.hasCompletedMigrations(db)
    }

    /// `InitSpatialMetaData` opens its own transaction, so it cannot run inside a migration: it runs
    /// once, before them, and must report success (1).
    private static func initSpatialMetadata(_ pool: DatabasePool) throws {
        try pool.writeWithoutTransaction { db in
            let present = try Bool.fetchOne(db, sql: """
                SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'spatial_ref_sys'
                """) ?? false
            if present { return }
            // Tag the file first: a creation cut short is then resumed, not mistaken for another app's file.
            try db.execute(sql: "PRAGMA application_id = \(RGISDatabase.applicationID)")
            let ok = try Int.fetchOne(db, sql: "SELECT InitSpatialMetaData(1)")
            guard ok == 1 else { throw RGISError(.database, "InitSpatialMetaData failed") }
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-layers", migrate: createLayers)
        migrator.registerMigration("v2-archive", migrate: ArchiveSchema.create)
        migrator.registerMigration("v3-layer-statistics", migrate: LayerStatisticsTable.create)
        migrator.registerMigration("v4-accounts", migrate: AccountSchema.create)
        migrator.registerMigration("v5-notifications", migrate: NotificationSchema.create)
        migrator.registerMigration("v6-demand-centres", migrate: DemandFitIndex.addCentres)
        migrator.registerMigration("v7-district-placement", migrate: DistrictPlacement.create)
        migrator.registerMigration("v8-alert-hooks", migrate: AlertHookSchema.create)
        migrator.registerMigration("v9-listing-pixels", migrate: ListingPixels.create)
        migrator.registerMigration("v10-kept-series", migrate: SeriesStamps.create)
        migrator.registerMigration("v11-settings", migrate: Settings.create)
        migrator.registerMigration("v12-listing-cells", migrate: ListingCells.create)
        migrator.registerMigration("v13-demand-reach", migrate: DemandReach.create)
        // Idempotency keys keep which record a POST made, never its response: a replay answers the
        // record as it is now, so contact data erased since is not kept, nor given back, under a key.
        migrator.registerMigration("v14-idempotency-without-responses") { db in
            try db.execute(sql: "UPDATE idempotency_keys SET response = ''")
        }
        migrator.registerMigration("v15-match-queue", migrate: MatchQueue.create)
        migrator.registerMigration("v16-worker-leases", migrate: WorkerLeases.create)
        migrator.registerMigration("v17-one-outbox", migrate: OneOutbox.create)
        migrator.registerMigration("v18-placement-on-borders", migrate: DistrictPlacement.placeOnBorders)
        return migrator
    }

    static func addGeometry(_ db: Database, table: String, type: String) throws {
        let added = try Int.fetchOne(db, sql: "SELECT AddGeometryColumn(?, 'geom', 4326, ?, 'XY', 1)", arguments: [table, type])
        guard added == 1 else { throw RGISError(.database, "AddGeometryColumn failed for \(table)") }
        let indexed = try Int.fetchOne(db, sql: "SELECT CreateSpatialIndex(?, 'geom')", arguments: [table])
        guard indexed == 1 else { throw RGISError(.database, "CreateSpatialIndex failed for \(table)") }
    }

    private static func createLayers(_ db: Database) throws {
        // `fid` is the rowid the R*Tree and GDAL use; `id` is the source id every query reports.
        // `extra` keeps, as JSON, the source properties that are not columns, so that nothing is lost.
        try db.execute(sql: """
            CREATE TABLE districts (
                fid INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                name TEXT,
                level TEXT NOT NULL DEFAULT 'district' CHECK (level IN ('city', 'district', 'subdistrict')),
                parent_id TEXT,
                extra TEXT
            );
            CREATE INDEX districts_parent ON districts(parent_id);
            CREATE TABLE parcels (
                fid INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                cadastral_number TEXT,
                land_use TEXT,
                zoning TEXT,
                area_m2 REAL CHECK (area_m2 >= 0),
                valid_from TEXT,
                valid_to TEXT,
                extra TEXT
            );
            CREATE TABLE buildings (
                fid INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                parcel_id TEXT,
                use TEXT,
                floors INTEGER CHECK (floors >= 0),
                height_m REAL CHECK (height_m >= 0),
                year_built INTEGER,
                units INTEGER CHECK (units >= 0),
                extra TEXT
            );
            CREATE INDEX buildings_parcel ON buildings(parcel_id);
            CREATE TABLE listings (
                fid INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                status TEXT NOT NULL DEFAULT 'active',
                property_type TEXT,
                list_price REAL CHECK (list_price >= 0),
                living_area_m2 REAL CHECK (living_area_m2 >= 0),
                bedrooms INTEGER CHECK (bedrooms >= 0),
                bathrooms REAL CHECK (bathrooms >= 0),
                year_built INTEGER,
                address TEXT,
                building_id TEXT,
                parcel_id TEXT,
                list_date TEXT,
                close_date TEXT,
                close_price REAL CHECK (close_price >= 0),
                agent TEXT,
                extra TEXT
            );
            CREATE INDEX listings_status_price ON listings(status, list_price);
            CREATE TABLE clients (
                fid INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                agent TEXT NOT NULL,
                age_band TEXT,
                household TEXT,
                income_band TEXT,
                lifecycle_stage TEXT NOT NULL DEFAULT 'initial_contact'
                    CHECK (lifecycle_stage IN ('initial_contact', 'viewing', 'negotiation', 'purchase', 'after_sale', 'lost')),
                created_at TEXT
            );
            CREATE INDEX clients_agent ON clients(agent);
            -- Personal data lives apart from the client so that only the owning agent and admins read it.
            CREATE TABLE client_contacts (
                client_id TEXT PRIMARY KEY REFERENCES clients(id) ON DELETE CASCADE,
                name TEXT,
                phone TEXT,
                email TEXT
            );
            CREATE TABLE demands (
                fid INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                client_id TEXT,
                agent TEXT,
                status TEXT NOT NULL DEFAULT 'active',
                budget_min REAL CHECK (budget_min >= 0),
                budget_max REAL CHECK (budget_max >= 0),
                bedrooms_min INTEGER CHECK (bedrooms_min >= 0),
                property_types TEXT,
                area_min_m2 REAL,
                area_max_m2 REAL,
                radius_m REAL,
                created_at TEXT,
                extra TEXT
            );
            CREATE INDEX demands_client ON demands(client_id);
            CREATE TABLE events (
                id INTEGER PRIMARY KEY,
                layer TEXT NOT NULL CHECK (layer IN ('listings', 'demands')),
                record_id TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('new', 'price_change', 'status_change', 'update')),
                old_value TEXT,
                new_value TEXT,
                at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
            );
            CREATE INDEX events_record ON events(layer, record_id);
            """)
        for (table, type) in [("districts", "MULTIPOLYGON"), ("parcels", "MULTIPOLYGON"), ("buildings", "MULTIPOLYGON"),
                              ("listings", "POINT"), ("demands", "MULTIPOLYGON")] {
            try addGeometry(db, table: table, type: type)
        }
    }
}
