import NIOCore
import PostgresNIO
import RGISCore
import RGISStore

/// Features as PostGIS rows: the columns each read selects, and a ``StoredFeature`` read back from them.
enum FeatureRows {
    /// `t.fid, t.id, t.<fields…>, t.extra, ST_AsGeoJSON(t.geom, 9)` for the table aliased `alias`.
    static func columns(_ layer: Layer, alias: String = "t") -> String {
        (["fid", "id"] + layer.fields.map(\.name) + ["extra"]).map { "\(alias).\($0)" }.joined(separator: ", ")
            + ", ST_AsGeoJSON(\(alias).geom, 9)"
    }

    /// How many columns ``columns(_:alias:)`` selects.
    static func count(_ layer: Layer) -> Int { layer.fields.count + 4 }

    /// The feature in the first ``count(_:)`` columns: the typed fields over the source's other
    /// properties kept in `extra`.
    static func feature(_ row: PostgresRandomAccessRow, layer: Layer) throws -> StoredFeature {
        let fields = layer.fields
        var properties: [String: JSONValue] = [:]
        if let extra = try row[fields.count + 2].decode(String?.self), case .object(let object)? = try? JSONValue.parse(Array(extra.utf8)) {
            properties = object
        }
        for (i, field) in fields.enumerated() {
            let cell = row[i + 2]
            switch field.kind {
            case .integer: if let v = try cell.decode(Int64?.self) { properties[field.name] = .int(v) }
            case .real: if let v = try cell.decode(Double?.self) { properties[field.name] = .double(v) }
            case .text, .date, .oneOf, .listOf: if let v = try cell.decode(String?.self) { properties[field.name] = .string(v) }
            }
        }
        return StoredFeature(fid: try row[0].decode(Int64.self), id: try row[1].decode(String.self),
                             geometryGeoJSON: try row[fields.count + 3].decode(String?.self) ?? "null", properties: properties)
    }
}

extension SQLText {
    /// A geometry from its WKB in EPSG:4326, bound as bytea.
    mutating func bindGeometry(_ geometry: Geometry) {
        sql("ST_GeomFromWKB(")
        bind(ByteBuffer(bytes: geometry.wkb))
        sql(", 4326)")
    }

    /// `ST_MakeEnvelope(w, s, e, n, 4326)`, bound.
    mutating func bindEnvelope(_ b: BBox.Part) {
        sql("ST_MakeEnvelope(")
        bind(b.west)
        sql(", ")
        bind(b.south)
        sql(", ")
        bind(b.east)
        sql(", ")
        bind(b.north)
        sql(", 4326)")
    }

    /// `(ST_Intersects(t.geom, box) OR …)` over a bbox's parts (two across the antimeridian); the GiST
    /// index on `geom` answers the box test inside `ST_Intersects`.
    mutating func intersectsAny(_ parts: [BBox.Part], alias: String = "t") {
        sql("(")
        for (i, part) in parts.enumerated() {
            if i > 0 { sql(" OR ") }
            sql("ST_Intersects(\(alias).geom, ")
            bindEnvelope(part)
            sql(")")
        }
        sql(")")
    }

    /// `(t.pt <@ box OR …)` over a bbox's parts, for the listings: their points kept as PostgreSQL
    /// `point`s in an SP-GiST index that holds the point itself, so a count reads the index alone.
    /// The same rows as ``intersectsAny(_:alias:)``: a point meets a rectangle when it lies in it,
    /// edges included.
    mutating func pointInAny(_ parts: [BBox.Part], alias: String = "t") {
        sql("(")
        for (i, part) in parts.enumerated() {
            if i > 0 { sql(" OR ") }
            sql("\(alias).pt <@ box(point(")
            bind(part.west)
            sql(", ")
            bind(part.south)
            sql("), point(")
            bind(part.east)
            sql(", ")
            bind(part.north)
            sql("))")
        }
        sql(")")
    }
}
