import Foundation
import GRDB
import RGISCore
import RGISGeodesy
import RGISStore

/// Writes checked records into one layer's table with prepared statements.
struct LayerWriter {
    enum Outcome { case inserted, updated }

    private let db: Database
    private let options: ImportOptions
    private let layer: Layer
    private let insert: Statement
    private let binder: ParameterBinder
    private let fields: [Field]
    private let slots: Slots
    private let geometry: Statement?
    private let transformPoint: Statement?
    private let existing: Statement
    private let event: Statement?
    private let client: Statement?
    /// For a bulk import of listings: each row's districts and map pixel, written with the row.
    private let placer: PointPlacer?
    private let mercator: CRSTransform?
    /// The id the last ``write(_:)`` stored (known for upserts and for records that name their id).
    private(set) var lastStoredID: String?
    /// For a bulk import: each new row's box, for the spatial index built at the end.
    private var newBoxes: [PackedRTree.Entry] = []
    private let collectingBoxes: Bool
    /// For a bulk import that places its listings: the new rows counted into their map cells.
    private var newCells = CountedCells()
    /// Every geometry written was made by `MakePoint(lon, lat, 4326)`: of the column's type and SRID.
    private(set) var madeEveryPoint = true

    /// `placing`: the import dropped the listings' placement and pixel triggers, and each row is
    /// written with them.
    /// `collectingBoxes`: keep each inserted row's box (``takeNewBoxes()``).
    init(db: Database, options: ImportOptions, placing: Bool = false, collectingBoxes: Bool = false) throws {
        self.db = db
        self.collectingBoxes = collectingBoxes && !options.upsert
        self.options = options
        self.layer = options.layer
        let table = layer.table
        let fields = layer.fields.map(\.name)
        let placing = placing && layer == .listings && !options.upsert
        placer = placing ? try PointPlacer(db) : nil
        mercator = placing ? try CRSTransform.to(.webMercator) : nil
        let source = options.sourceSRID
        let fromWKB = source.isGeographicWGS84
            ? "GeomFromWKB(:wkb, 4326)"
            : "Transform(GeomFromWKB(:wkb, \(source.code)), 4326)"

        // Listings in lon/lat take the fast path: MakePoint straight into the INSERT. Everything else
        // goes through a statement that builds the stored geometry once and reports its validity.
        let geometryValue: String
        if layer == .listings && source.isGeographicWGS84 {
            geometryValue = "MakePoint(:lon, :lat, 4326)"
            geometry = nil
        } else {
            geometryValue = ":geom"
            let expression = layer == .listings
                ? "CastToPoint(\(fromWKB))"
                : "CastToMultiPolygon(ST_ForcePolygonCCW(\(fromWKB)))"
            geometry = try db.makeStatement(sql: """
                WITH g(geom) AS MATERIALIZED (SELECT \(expression))
                SELECT geom, IsValidReason(geom), MbrMinX(geom), MbrMinY(geom), MbrMaxX(geom), MbrMaxY(geom) FROM g
                """)
        }
        transformPoint = layer == .demands && !source.isGeographicWGS84
            ? try db.makeStatement(sql: "SELECT X(p), Y(p) FROM (SELECT Transform(GeomFromWKB(:wkb, \(source.code)), 4326) AS p)")
            : nil

        var values = fields.map { ":\($0)" }
        if layer == .parcels, let i = fields.firstIndex(of: "area_m2") {
            // Parcels without a stated area get the geodesic area of their polygon.
            values[i] = "COALESCE(:area_m2, ST_Area(\(geometryValue), 1))"
        }
        let placed = placing ? DistrictLevel.allCases.map { DistrictPlacement.column($0) } + ["map_x", "map_y"] : []
        let columns = ["id"] + fields + ["extra", "geom"] + placed
        let idValue = "COALESCE(:id, :idPrefix || (SELECT COALESCE(MAX(fid), 0) + 1 FROM \(table)))"
        let allValues = [idValue] + values + [":extra", geometryValue] + placed.map { ":\($0)" }
        var sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(allValues.joined(separator: ", ")))"
        if options.upsert {
            sql += " ON CONFLICT(id) DO UPDATE SET " + (fields + ["extra", "geom"]).map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        }
        // Row by row, the stored id is needed for the change events of an upsert; a bulk import logs
        // its "new" events in one statement at the end (BulkSpatialIndex.finish).
        if options.upsert { sql += " RETURNING id" }
        insert = try db.makeStatement(sql: sql)
        binder = ParameterBinder(insert)
        self.fields = layer.fields
        slots = Slots(binder, fields: layer.fields)

        let watched = layer == .listings ? "list_price, status, property_type, living_area_m2, bedrooms, X(geom), Y(geom)" : layer == .demands ? "budget_max, status" : "NULL, NULL"
        existing = try db.makeStatement(sql: "SELECT \(watched) FROM \(table) WHERE id = ?")
        event = layer == .listings || layer == .demands
            ? try db.makeStatement(sql: "INSERT INTO events (layer, record_id, kind, old_value, new_value) VALUES (?, ?, ?, ?, ?)")
            : nil
        client = layer == .demands
            ? try db.makeStatement(sql: """
                INSERT INTO clients (id, agent, age_band, household, income_band, lifecycle_stage)
                VALUES (?, ?, ?, ?, ?, COALESCE(?, 'initial_contact')) ON CONFLICT(id) DO NOTHING
                """)
            : nil
    }

    /// The boxes kept so far, handed over (not copied: the R*Tree sorts them in place).
    mutating func takeNewBoxes() -> [PackedRTree.Entry] {
        defer { newBoxes = [] }
        return newBoxes
    }

    /// The cells counted so far, handed over; nil unless the writer placed its rows.
    mutating func takeNewCells() -> CountedCells? {
        defer { newCells = CountedCells() }
        return placer == nil ? nil : newCells
    }

    mutating func write(_ record: LayerRecord) throws -> Outcome {
        var record = record
        let privateFields = layer == .listings ? try RecordRules.privateFields(of: &record) : ListingPrivateFields()
        if let client, let named = try RecordRules.client(of: &record) {
            do {
                try client.execute(arguments: [named.id, named.agent, named.ageBand, named.household, named.incomeBand, named.lifecycleStage])
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw RGISError(.invalidValue, "client \(named.id): \(error.message ?? "refused by the schema")")
            }
        }
        binder.startRow()
        binder.bind(slots.id, text: record.id)
        binder.bind(slots.idPrefix, text: layer.generatedIDPrefix)
        binder.bind(slots.extra, text: record.extra.isEmpty ? nil : JSONValue.object(record.extra).jsonText)
        for (field, slot) in zip(fields, slots.fields) { binder.bind(slot, record.values[field.name]) }
        let (position, box) = try bindGeometry(record)
        var pixel: (x: Int64, y: Int64)?
        if let position, let placer, let mercator {
            for (slot, holder) in zip(slots.districts, placer.place(lon: position.lon, lat: position.lat)) {
                binder.bind(slot, integer: holder)
            }
            let rowPixel = ListingPixels.pixels(lons: [position.lon], lats: [position.lat], mercator: mercator)[0]
            binder.bind(slots.mapX, integer: rowPixel.x)
            binder.bind(slots.mapY, integer: rowPixel.y)
            pixel = rowPixel
        }

        var previous: Row?
        if options.upsert, let id = record.id {
            previous = try Row.fetchOne(existing, arguments: [id])
        }
        var storedID: String?
        do {
            if options.upsert {
                guard let id = try String.fetchOne(insert) else { throw RGISError(.database, "insert returned no id") }
                storedID = id
            } else {
                try insert.execute()
                if collectingBoxes, let box {
                    newBoxes.append(PackedRTree.entry(id: db.lastInsertedRowID, minX: box.minX, maxX: box.maxX, minY: box.minY, maxY: box.maxY))
                }
                if let pixel {
                    newCells.add(x: pixel.x, y: pixel.y, status: record.values["status"], propertyType: record.values["property_type"],
                                 price: record.values["list_price"], fid: db.lastInsertedRowID)
                }
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw RGISError(.conflict, "duplicate id '\(record.id ?? "")': \(layer) already holds it (earlier in this file or in the database); pass --upsert to replace")
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw RGISError(.invalidValue, "refused by the schema: \(error.message ?? "constraint failed")")
        }
        if let storedID { try recordEvents(id: storedID, previous: previous, record: record) }
        lastStoredID = storedID ?? record.id
        if layer == .listings { try storePrivate(privateFields, id: storedID) }
        return previous == nil ? .inserted : .updated
    }

    typealias Box = (minX: Double, maxX: Double, minY: Double, maxY: Double)

    /// Binds the stored geometry; returns a listing's position in lon/lat, and the stored geometry's box.
    private mutating func bindGeometry(_ record: LayerRecord) throws -> (Position?, Box?) {
        if geometry == nil, case .point(let p) = record.geometry {
            binder.bind(slots.lon, real: p.lon)
            binder.bind(slots.lat, real: p.lat)
            return (p, (p.lon, p.lon, p.lat, p.lat))
        }
        madeEveryPoint = false
        let statement: Statement
        if layer == .demands, case .point(var centre) = record.geometry, case .real(let radius)? = record.values["radius_m"] {
            if let transformPoint {
                guard let row = try Row.fetchOne(transformPoint, arguments: ["wkb": Data(record.geometry.wkb)]),
                      let lon = row[0] as Double?, let lat = row[1] as Double? else {
                    throw RGISError(.invalidValue, "the point could not be transformed from \(options.sourceSRID) to EPSG:4326")
                }
                centre = Position(lon: lon, lat: lat)
            }
            // A circle of radius_m metres: buffered in the point's UTM zone (scale error under 0.1 %),
            // so that SpatiaLite/PROJ do the geometry, then brought back to lon/lat.
            statement = try db.cachedStatement(sql: """
                WITH g(geom) AS MATERIALIZED (SELECT CastToMultiPolygon(ST_ForcePolygonCCW(
                    Transform(ST_Buffer(Transform(MakePoint(?, ?, 4326), ?), ?, 16), 4326))))
                SELECT geom, IsValidReason(geom), MbrMinX(geom), MbrMinY(geom), MbrMaxX(geom), MbrMaxY(geom) FROM g
                """)
            statement.setUncheckedArguments([centre.lon, centre.lat, Self.utmSRID(centre), radius])
        } else {
            guard let geometry else { throw RGISError(.invalidValue, "geometry \(record.geometry.typeName) is not a point") }
            statement = geometry
            statement.setUncheckedArguments(["wkb": Data(record.geometry.wkb)])
        }
        guard let row = try Row.fetchOne(statement), let blob = row[0] as Data? else {
            if !options.sourceSRID.isGeographicWGS84 {
                throw RGISError(.invalidValue, "geometry could not be transformed from \(options.sourceSRID) to EPSG:4326")
            }
            throw RGISError(.invalidValue, "geometry could not be read by SpatiaLite")
        }
        let reason: String? = row[1]
        if let reason, reason != "Valid Geometry" {
            throw RGISError(.invalidValue, "geometry is not valid: \(reason)")
        }
        let minX: Double? = row[2], minY: Double? = row[3], maxX: Double? = row[4], maxY: Double? = row[5]
        if !options.sourceSRID.isGeographicWGS84 {
            guard let minX, let minY, let maxX, let maxY, minX >= -180, maxX <= 180, minY >= -90, maxY <= 90 else {
                throw RGISError(.invalidValue, "coordinates transformed from \(options.sourceSRID) fall outside lon/lat range; is --srid right?")
            }
        }
        binder.bind(slots.geom, blob: blob)
        // A listing's box is its point.
        guard let minX, let minY, let maxX, let maxY else { return (nil, nil) }
        return (layer == .listings ? Position(lon: minX, lat: minY) : nil, (minX, maxX, minY, maxY))
    }

    /// Where each value goes in the insert (0 where the insert takes no such value).
    private struct Slots {
        let id, idPrefix, extra, lon, lat, geom, mapX, mapY: ParameterBinder.Slot
        /// In `fields` order.
        let fields: [ParameterBinder.Slot]
        /// In ``DistrictLevel/allCases`` order.
        let districts: [ParameterBinder.Slot]

        init(_ binder: ParameterBinder, fields: [Field]) {
            id = binder.slot("id")
            idPrefix = binder.slot("idPrefix")
            extra = binder.slot("extra")
            lon = binder.slot("lon")
            lat = binder.slot("lat")
            geom = binder.slot("geom")
            mapX = binder.slot("map_x")
            mapY = binder.slot("map_y")
            self.fields = fields.map { binder.slot($0.name) }
            districts = DistrictLevel.allCases.map { binder.slot(DistrictPlacement.column($0)) }
        }
    }

    /// The WGS84 UTM zone's EPSG code for a position (326xx north, 327xx south).
    static func utmSRID(_ p: Position) -> Int {
        let zone = min(60, max(1, Int(((p.lon + 180) / 6).rounded(.down)) + 1))
        return (p.lat >= 0 ? 32600 : 32700) + zone
    }

    /// A listing's private fields go to `listing_private`; a replacement without them clears them.
    private func storePrivate(_ fields: ListingPrivateFields, id: String?) throws {
        if let id { try db.execute(sql: "DELETE FROM listing_private WHERE listing_id = ?", arguments: [id]) }
        guard !fields.isEmpty else { return }
        let values = ListingPrivateFields.names.map { fields.values[$0] }
        if let id {
            try db.execute(sql: "INSERT INTO listing_private (listing_id, private_remarks, showing_contact_phone, seller_contact) VALUES (?, ?, ?, ?)",
                           arguments: StatementArguments([id] + values))
        } else {
            // A bulk insert does not return the id (it may be generated): take it from the row just written.
            try db.execute(sql: """
                INSERT INTO listing_private (listing_id, private_remarks, showing_contact_phone, seller_contact)
                SELECT id, ?, ?, ? FROM listings WHERE fid = last_insert_rowid()
                """, arguments: StatementArguments(values))
        }
    }

    private func recordEvents(id: String, previous: Row?, record: LayerRecord) throws {
        guard let event else { return }
        let before = previous.map { (price: $0[0] as Double?, status: $0[1] as String?) }
        let shape = layer == .listings ? previous.map { row in
            RecordRules.ListingShape(propertyType: row[2], livingAreaM2: row[3], bedrooms: row[4],
                                     position: (row[5] as Double?).flatMap { x in (row[6] as Double?).map { Position(lon: x, lat: $0) } })
        } : nil
        for change in RecordRules.events(layer, previous: before, previousShape: shape, record: record) {
            func bound(_ value: FieldValue?) -> (any DatabaseValueConvertible)? {
                switch value {
                case .text(let s)?: s
                case .integer(let i)?: i
                case .real(let d)?: d
                case nil: nil
                }
            }
            try event.execute(arguments: [layer.table, id, change.kind.rawValue, bound(change.oldValue), bound(change.newValue)])
        }
    }
}
