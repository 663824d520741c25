import Foundation
import NIOCore
import PostgresNIO
import RGISCore
import RGISStore

/// One feature written by the import's rules inside the caller's transaction: its stored geometry
/// made and checked by PostGIS (the bulk import's expression), the row inserted or, under the same id,
/// replaced, the change events the replacement logs (``RecordRules``), a listing's private fields and
/// a demand's client. Record writes and an import with `--upsert` go through it; a bulk import of new
/// rows goes through ``FeatureImport`` instead, set-wise.
struct FeatureWriter {
    let session: Session
    let options: ImportOptions
    var layer: Layer { options.layer }
    private var geometryExpression: String { FeatureImport(options: options).geometryExpression }

    /// Writes `record`; without an id it gets the layer's prefix and its fid. Returns the stored id and
    /// whether the row is new. Errors carry no location: the caller knows where the record came from.
    func write(_ record: LayerRecord) async throws -> (id: String, inserted: Bool) {
        var record = record
        let privateFields = layer == .listings ? try RecordRules.privateFields(of: &record) : ListingPrivateFields()
        if layer == .demands, let named = try RecordRules.client(of: &record) { try await addClient(named) }
        try await checkGeometry(record)
        var previous: (facts: (price: Double?, status: String?), shape: RecordRules.ListingShape?)?
        if let id = record.id { previous = try await previousFacts(id: id) }
        let stored = try await upsert(record)
        if RecordRules.priceField(layer) != nil {
            for change in RecordRules.events(layer, previous: previous?.facts, previousShape: previous?.shape, record: record) {
                var q = SQLText("INSERT INTO events (layer, record_id, kind, old_value, new_value) VALUES (")
                q.bind(layer.table)
                q.sql(", ")
                q.bind(stored.id)
                q.sql(", ")
                q.bind(change.kind.rawValue)
                q.sql(", ")
                q.bind(change.oldValue.map(Self.json))
                q.sql("::jsonb, ")
                q.bind(change.newValue.map(Self.json))
                q.sql("::jsonb)")
                try await session.run(q)
            }
        }
        if layer == .listings { try await storePrivate(privateFields, id: stored.id) }
        return stored
    }

    /// The stored geometry must be one PostGIS reads and finds valid.
    private func checkGeometry(_ record: LayerRecord) async throws {
        var q = SQLText("SELECT g IS NULL, ST_IsValid(g), ST_IsValidReason(g), ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g) FROM (SELECT \(geometryExpression) AS g FROM ")
        bindSource(record, into: &q)
        q.sql(") x")
        guard let row = try await session.rows(q).first else { return }
        if try row[0].decode(Bool.self) {
            throw RGISError(.invalidValue, options.sourceSRID.isGeographicWGS84 ? "geometry could not be read by PostGIS"
                                                                                  : "geometry could not be transformed from \(options.sourceSRID) to EPSG:4326")
        }
        if try row[1].decode(Bool?.self) == false {
            throw RGISError(.invalidValue, "geometry is not valid: \(try row[2].decode(String?.self) ?? "?")")
        }
        if !options.sourceSRID.isGeographicWGS84 {
            let w = try row[3].decode(Double.self), s = try row[4].decode(Double.self), e = try row[5].decode(Double.self), n = try row[6].decode(Double.self)
            guard w >= -180, e <= 180, s >= -90, n <= 90 else {
                throw RGISError(.invalidValue, "coordinates transformed from \(options.sourceSRID) fall outside lon/lat range; is --srid right?")
            }
        }
    }

    /// `(SELECT $wkb AS wkb, $radius AS circle_m) s`: what the import's geometry expression reads.
    private func bindSource(_ record: LayerRecord, into q: inout SQLText) {
        q.sql("(SELECT ")
        q.bind(ByteBuffer(bytes: record.geometry.wkb), as: "bytea")
        q.sql(" AS wkb, ")
        var circle: Double?
        if layer == .demands, record.geometry.kind == .point, case .real(let radius)? = record.values["radius_m"] { circle = radius }
        q.bind(circle)
        q.sql("::float8 AS circle_m) s")
    }

    /// What the change events compare: the stored price and status, and a listing's shape.
    private func previousFacts(id: String) async throws -> (facts: (price: Double?, status: String?), shape: RecordRules.ListingShape?)? {
        guard let priceField = RecordRules.priceField(layer) else { return nil }
        let shape = layer == .listings ? ", property_type, living_area_m2, bedrooms, ST_X(geom), ST_Y(geom)" : ""
        var q = SQLText("SELECT \(priceField), status\(shape) FROM \(layer.table) WHERE id = ")
        q.bind(id)
        guard let row = try await session.rows(q).first else { return nil }
        let facts = (price: try row[0].decode(Double?.self), status: try row[1].decode(String?.self))
        guard layer == .listings else { return (facts, nil) }
        let x = try row[5].decode(Double?.self), y = try row[6].decode(Double?.self)
        return (facts, RecordRules.ListingShape(propertyType: try row[2].decode(String?.self), livingAreaM2: try row[3].decode(Double?.self),
                                                bedrooms: try row[4].decode(Int64?.self).map(Double.init),
                                                position: x.flatMap { x in y.map { Position(lon: x, lat: $0) } }))
    }

    /// Inserts the record, or replaces the stored one with the same id (its fid stays). A parcel
    /// without a stated area gets its polygon's geodesic area.
    private func upsert(_ record: LayerRecord) async throws -> (id: String, inserted: Bool) {
        let fields = layer.fields
        let names = fields.map(\.name) + ["extra", "geom"]
        let table = layer.table
        var q = SQLText("""
            WITH n AS (SELECT nextval(pg_get_serial_sequence('\(table)', 'fid')) AS fid)
            INSERT INTO \(table) (fid, id, \(names.joined(separator: ", "))) SELECT n.fid, COALESCE(
            """)
        q.bind(record.id)
        q.sql("::text, '\(layer.generatedIDPrefix)' || n.fid)")
        for field in fields {
            q.sql(", ")
            if layer == .parcels && field.name == "area_m2" {
                q.sql("COALESCE(")
                q.bindField(record.values[field.name], kind: field.kind)
                q.sql(", ST_Area((\(geometryExpression))::geography))")
            } else {
                q.bindField(record.values[field.name], kind: field.kind)
            }
        }
        q.sql(", ")
        q.bind(record.extra.isEmpty ? nil : JSONValue.object(record.extra).jsonText)
        q.sql("::text, \(geometryExpression) FROM n, ")
        bindSource(record, into: &q)
        q.sql(" ON CONFLICT (id) DO UPDATE SET " + names.map { "\($0) = excluded.\($0)" }.joined(separator: ", "))
        q.sql(" RETURNING id, (xmax = 0)")
        let row = try await session.rows(q)[0]
        return (try row[0].decode(String.self), try row[1].decode(Bool.self))
    }

    /// A demand's client, made on first sight and owned by the demand's agent.
    private func addClient(_ named: RecordRules.DemandClient) async throws {
        var q = SQLText("INSERT INTO clients (id, agent, age_band, household, income_band, lifecycle_stage) VALUES (")
        q.bind(named.id)
        for value in [named.agent, named.ageBand, named.household, named.incomeBand] {
            q.sql(", ")
            q.bind(value)
        }
        q.sql(", COALESCE(")
        q.bind(named.lifecycleStage)
        q.sql("::text, 'initial_contact')) ON CONFLICT (id) DO NOTHING")
        do {
            try await session.run(q)
        } catch let error as RGISError where error.code == .invalidValue {
            throw RGISError(.invalidValue, "client \(named.id): \(error.reason)")
        }
    }

    /// A listing's private fields go to `listing_private`; a replacement without them clears them.
    private func storePrivate(_ fields: ListingPrivateFields, id: String) async throws {
        var clear = SQLText("DELETE FROM listing_private WHERE listing_id = ")
        clear.bind(id)
        try await session.run(clear)
        guard !fields.isEmpty else { return }
        var q = SQLText("INSERT INTO listing_private (listing_id, \(ListingPrivateFields.names.joined(separator: ", "))) VALUES (")
        q.bind(id)
        for name in ListingPrivateFields.names {
            q.sql(", ")
            q.bind(fields.values[name])
        }
        q.sql(")")
        try await session.run(q)
    }

    /// An event's value as JSON: a number stays a number, a real one with its point (`100000.0`: jsonb
    /// keeps a numeric's scale, so it reads back real, as SQLite keeps it).
    static func json(_ value: FieldValue) -> String {
        switch value {
        case .text(let s): JSONValue.string(s).jsonText
        case .integer(let i): String(i)
        case .real(let d): d.isFinite ? String(d) : JSONValue.double(d).jsonText
        }
    }
}

extension SQLText {
    /// `$n::type` for a field's value, of the column's type.
    mutating func bindField(_ value: FieldValue?, kind: Field.Kind) {
        switch (kind, value) {
        case (_, nil):
            bind(String?.none)
        case (.integer, .integer(let i)?):
            bind(i)
        case (.integer, .real(let d)?):
            // Out of range, the server refuses it (22003) rather than this process trapping.
            if let whole = Int64(exactly: d.rounded()) { bind(whole) } else { bind(String(d)) }
        case (.real, .real(let d)?):
            bind(d)
        case (.real, .integer(let i)?):
            bind(Double(i))
        case (_, .text(let s)?):
            bind(s)
        case (_, .integer(let i)?):
            bind(String(i))
        case (_, .real(let d)?):
            bind(String(d))
        }
        switch kind {
        case .integer: sql("::bigint")
        case .real: sql("::float8")
        case .text, .date, .oneOf, .listOf: sql("::text")
        }
    }
}
