import Foundation

/// Copying a whole store to another backend (`rgis copy`): each backend reads its tables as portable
/// rows (``CopiedTable``) and writes them back as its own types, so a SpatiaLite file and a PostgreSQL
/// database carry the same records, ids, times and lineage. What either store derives from those rows
/// (placements, map pixels, series stamps, statistics, fit indexes) is rebuilt by the target's own
/// triggers as the rows arrive, never copied.
public protocol StoreCopying: Sendable {
    /// Hands over every carried table (``CopiedTable/all``, in that order) in batches of at most
    /// `batchRows`, all from one snapshot: writers may go on meanwhile and none is seen half-way.
    func readCopy(batchRows: Int, _ receive: (CopiedBatch) async throws -> Void) async throws

    /// Loads what `feed` hands to the writer it is given into this store, which must hold no record
    /// (``RGISError/Code/conflict`` otherwise); then lets the target's sequences continue after the
    /// largest id copied. A backend with transactions across calls loads in one: all or nothing.
    func loadCopy(_ feed: (_ write: (CopiedBatch) async throws -> Void) async throws -> Void) async throws

    /// The rows each carried table holds now (for the counts a copy compares at both ends).
    func copiedCounts() async throws -> [String: Int]
}

/// One value of a copied row, as every backend can read and write it.
public enum CopiedValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    /// A geometry (ISO WKB, EPSG:4326) or raw bytes.
    case bytes(Data)
}

/// How a copied column is kept, when the backends keep it differently.
public enum CopiedKind: Sendable {
    case integer, real, text
    /// 0 or 1 in SQLite, `boolean` in PostgreSQL.
    case flag
    /// UTC to the second as `YYYY-MM-DDTHH:MM:SSZ` text in SQLite, `timestamptz` in PostgreSQL.
    case time
    /// Text in SQLite, a JSON string in a `jsonb` column in PostgreSQL (the events' old and new values).
    case jsonString
    /// A JSON array of strings in SQLite, `text[]` in PostgreSQL.
    case textList
    /// WKB in EPSG:4326; `multi`: the column holds multi-polygons.
    case geometry(multi: Bool)
    /// A `BLOB` in SQLite, `bytea` in PostgreSQL.
    case bytes
}

public struct CopiedColumn: Sendable {
    public let name: String
    public let kind: CopiedKind
}

/// A table a copy carries: the same name and these columns in both backends.
public struct CopiedTable: Sendable {
    public let name: String
    public let columns: [CopiedColumn]
    /// The key that orders its rows (storage order in the target).
    public let order: String
    /// The column its backend numbers itself (a sequence to move past the copied ids), if any.
    public let numbered: String?
    /// Rows a new store writes by itself (its keys, triggered queues) are replaced by the copied ones.
    public let replacesInitial: Bool

    init(_ name: String, order: String, numbered: String? = nil, replacesInitial: Bool = false, _ columns: [(String, CopiedKind)]) {
        self.name = name
        self.order = order
        self.numbered = numbered
        self.replacesInitial = replacesInitial
        self.columns = columns.map { CopiedColumn(name: $0.0, kind: $0.1) }
    }
}

/// Rows of one table, in its order. A reader hands over at least one batch per table (empty when the
/// table is), so that a target replaces what it wrote by itself even when the source has nothing.
public struct CopiedBatch: Sendable {
    public let table: CopiedTable
    public var rows: [[CopiedValue]]
    /// The table's first batch.
    public let isFirst: Bool

    public init(table: CopiedTable, rows: [[CopiedValue]], isFirst: Bool) {
        self.table = table
        self.rows = rows
        self.isFirst = isFirst
    }
}

extension CopiedTable {
    /// Every table a copy carries, each after the tables it refers to. Not carried: what a store
    /// derives (placements, map pixels, listing cells, demand reach, series stamps and kept series,
    /// layer statistics, the alert watch's last look), workers' leases (they run out), and idempotency
    /// keys (a day's retry cache whose stored replies only SQLite keeps).
    public static let all: [CopiedTable] = [
        CopiedTable("rgis_settings", order: "name", replacesInitial: true, [("name", .text), ("value", .text)]),
        CopiedTable("store_secrets", order: "name", replacesInitial: true, [("name", .text), ("value", .bytes)]),
        CopiedTable("users", order: "name", [("name", .text), ("role", .text), ("agent", .text), ("created_at", .time)]),
        CopiedTable("tokens", order: "id", numbered: "id", [
            ("id", .integer), ("user_name", .text), ("sha256", .text), ("created_at", .time), ("expires_at", .time),
            ("last_used_at", .time), ("revoked_at", .time)]),
        CopiedTable("audit_log", order: "id", numbered: "id", [
            ("id", .integer), ("at", .time), ("user_name", .text), ("role", .text), ("method", .text), ("endpoint", .text),
            ("record_ids", .textList)]),
        CopiedTable("districts", order: "fid", numbered: "fid", [
            ("fid", .integer), ("id", .text), ("name", .text), ("level", .text), ("parent_id", .text), ("extra", .text),
            ("geom", .geometry(multi: true))]),
        CopiedTable("parcels", order: "fid", numbered: "fid", [
            ("fid", .integer), ("id", .text), ("cadastral_number", .text), ("land_use", .text), ("zoning", .text),
            ("area_m2", .real), ("valid_from", .text), ("valid_to", .text), ("extra", .text), ("geom", .geometry(multi: true))]),
        CopiedTable("buildings", order: "fid", numbered: "fid", [
            ("fid", .integer), ("id", .text), ("parcel_id", .text), ("use", .text), ("floors", .integer), ("height_m", .real),
            ("year_built", .integer), ("units", .integer), ("extra", .text), ("geom", .geometry(multi: true))]),
        CopiedTable("clients", order: "fid", numbered: "fid", [
            ("fid", .integer), ("id", .text), ("agent", .text), ("age_band", .text), ("household", .text), ("income_band", .text),
            ("lifecycle_stage", .text), ("created_at", .text)]),
        CopiedTable("client_contacts", order: "client_id", [("client_id", .text), ("name", .text), ("phone", .text), ("email", .text)]),
        CopiedTable("listings", order: "fid", numbered: "fid", [
            ("fid", .integer), ("id", .text), ("status", .text), ("property_type", .text), ("list_price", .real),
            ("living_area_m2", .real), ("bedrooms", .integer), ("bathrooms", .real), ("year_built", .integer), ("address", .text),
            ("building_id", .text), ("parcel_id", .text), ("list_date", .text), ("close_date", .text), ("close_price", .real),
            ("agent", .text), ("extra", .text), ("geom", .geometry(multi: false))]),
        CopiedTable("listing_private", order: "listing_id", [
            ("listing_id", .text), ("private_remarks", .text), ("showing_contact_phone", .text), ("seller_contact", .text)]),
        CopiedTable("demands", order: "fid", numbered: "fid", [
            ("fid", .integer), ("id", .text), ("client_id", .text), ("agent", .text), ("status", .text), ("budget_min", .real),
            ("budget_max", .real), ("bedrooms_min", .integer), ("property_types", .text), ("area_min_m2", .real),
            ("area_max_m2", .real), ("radius_m", .real), ("created_at", .text), ("extra", .text), ("geom", .geometry(multi: true))]),
        CopiedTable("events", order: "id", numbered: "id", [
            ("id", .integer), ("layer", .text), ("record_id", .text), ("kind", .text), ("old_value", .jsonString),
            ("new_value", .jsonString), ("at", .text), ("from_history", .flag)]),
        CopiedTable("webhook_endpoints", order: "id", numbered: "id", [
            ("id", .integer), ("agent", .text), ("url", .text), ("secret", .text), ("active", .flag), ("disabled_reason", .text),
            ("failing_since", .integer), ("created_at", .text)]),
        CopiedTable("subscriptions", order: "id", numbered: "id", [
            ("id", .integer), ("demand_id", .text), ("channel", .text), ("email", .text), ("endpoint_id", .integer),
            ("schedule", .text), ("digest_hour", .integer), ("timezone", .text), ("quiet_start", .integer), ("quiet_end", .integer),
            ("price_updates", .flag), ("active", .flag), ("disabled_reason", .text), ("starts_after_event", .integer),
            ("created_at", .text)]),
        CopiedTable("alert_hooks", order: "id", numbered: "id", [
            ("id", .integer), ("owner", .text), ("url", .text), ("secret", .text), ("level", .text), ("active", .flag),
            ("disabled_reason", .text), ("failing_since", .integer), ("created_at", .integer)]),
        CopiedTable("alert_state", order: "level, district_id, rule", [
            ("level", .text), ("district_id", .text), ("rule", .text), ("since", .text), ("raised_at", .integer),
            ("properties", .text)]),
        CopiedTable("deliveries", order: "id", numbered: "id", [
            ("id", .integer), ("kind", .text), ("event_id", .integer), ("subscription_id", .integer), ("demand_id", .text),
            ("listing_id", .text), ("reason", .text), ("score", .real), ("price", .real), ("digest_day", .text),
            ("hook_id", .integer), ("type", .text), ("body", .text), ("message_id", .text), ("state", .text),
            ("queued_at", .integer), ("due_at", .integer), ("attempts", .integer), ("claimed_by", .text),
            ("claimed_until", .integer), ("last_error", .text), ("sent_at", .integer)]),
        CopiedTable("client_listings", order: "demand_id, listing_id", [
            ("demand_id", .text), ("listing_id", .text), ("client_id", .text), ("channel", .text), ("first_sent_at", .integer),
            ("last_sent_at", .integer), ("times_sent", .integer), ("price_sent", .real), ("reaction", .text),
            ("reacted_at", .integer)]),
        // The events' trigger queued every copied listing event for matching: the source's queue replaces it.
        CopiedTable("match_queue", order: "event_id", replacesInitial: true, [("event_id", .integer)]),
        CopiedTable("archive_parties", order: "id", [("id", .text), ("kind", .text), ("name", .text)]),
        CopiedTable("archive_events", order: "id", numbered: "id", [
            ("id", .integer), ("kind", .text), ("valid_date", .text), ("recorded_at", .text), ("document", .text),
            ("corrects", .integer), ("detail", .text)]),
        CopiedTable("archive_lineage", order: "event_id, from_parcel, to_parcel", [
            ("event_id", .integer), ("from_parcel", .text), ("to_parcel", .text)]),
        CopiedTable("archive_parcels", order: "fid", numbered: "fid", archiveVersion(id: "parcel_id", parcel: nil)),
        CopiedTable("archive_buildings", order: "fid", numbered: "fid", archiveVersion(id: "building_id", parcel: "parcel_id")),
        CopiedTable("archive_rights", order: "id", numbered: "id", [
            ("id", .integer), ("parcel_id", .text), ("party_id", .text), ("right_type", .text), ("share_num", .integer),
            ("share_den", .integer), ("valid_from", .text), ("valid_to", .text), ("recorded_at", .text),
            ("superseded_at", .text), ("event_id", .integer), ("ended_by", .integer), ("superseded_by", .integer)]),
    ]

    private static func archiveVersion(id: String, parcel: String?) -> [(String, CopiedKind)] {
        [("fid", .integer), (id, .text)] + (parcel.map { [($0, .text)] } ?? []) + [
            ("valid_from", .text), ("valid_to", .text), ("recorded_at", .text), ("superseded_at", .text), ("event_id", .integer),
            ("ended_by", .integer), ("superseded_by", .integer), ("area_m2", .real), ("properties", .text),
            ("geom", .geometry(multi: true))]
    }
}
