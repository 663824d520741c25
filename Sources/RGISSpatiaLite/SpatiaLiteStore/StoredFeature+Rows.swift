import GRDB
import RGISCore
import RGISStore

/// A ``StoredFeature`` from a SpatiaLite row: the columns each query selects, and the row read back
/// (the typed fields merged over the source properties kept in `extra`).
extension StoredFeature {
    /// The columns ``init(row:layer:)`` reads, in order, from the table aliased `alias`.
    static func columns(_ layer: Layer, alias: String = "t") -> String {
        attributeColumns(layer, alias: alias) + ", AsGeoJSON(\(alias).geom, 9)"
    }

    /// ``columns(_:alias:)`` but the geometry: the storage key, the id, the fields and `extra`.
    static func attributeColumns(_ layer: Layer, alias: String = "t") -> String {
        (["fid", "id"] + layer.fields.map(\.name) + ["extra"]).map { "\(alias).\($0)" }.joined(separator: ", ")
    }

    /// The columns of ``init(row:layer:pointAt:)``: the same without the GeoJSON geometry, and the
    /// point's coordinates instead, for callers that read them anyway.
    static func pointColumns(alias: String = "t") -> String {
        (["fid", "id"] + Layer.listings.fields.map(\.name) + ["extra"]).map { "\(alias).\($0)" }.joined(separator: ", ")
            + ", X(\(alias).geom), Y(\(alias).geom)"
    }

    /// A point feature from ``pointColumns(alias:)``: its geometry written here from the coordinates,
    /// which saves SpatiaLite parsing the blob a second time to print it.
    init(row: Row, pointLayer layer: Layer) {
        let count = Self.columnCount(layer) - 1
        let lon: Double = row[count], lat: Double = row[count + 1]
        var geometry = #"{"type":"Point","coordinates":["#
        JSONValue.writeNumber(lon, to: &geometry)
        geometry += ","
        JSONValue.writeNumber(lat, to: &geometry)
        geometry += "]}"
        self.init(row: row, layer: layer, geometryGeoJSON: geometry)
    }

    /// How many columns ``columns(_:alias:)`` selects.
    static func columnCount(_ layer: Layer) -> Int { layer.fields.count + 4 }

    init(row: Row, layer: Layer) {
        self.init(row: row, layer: layer, geometryGeoJSON: row[layer.fields.count + 3] ?? "null")
    }

    init(row: Row, layer: Layer, geometryGeoJSON: String) {
        let fields = layer.fields
        var properties: [String: JSONValue] = [:]
        let extraIndex = fields.count + 2
        if let extra: String = row[extraIndex], case .object(let object)? = try? JSONValue.parse(Array(extra.utf8)) {
            properties = object
        }
        for (i, field) in fields.enumerated() {
            switch (row[i + 2] as DatabaseValue).storage {
            case .null, .blob: continue
            case .int64(let v): properties[field.name] = .int(v)
            case .double(let v): properties[field.name] = .double(v)
            case .string(let v): properties[field.name] = .string(v)
            }
        }
        self.init(fid: row[0], id: row[1], geometryGeoJSON: geometryGeoJSON, properties: properties)
    }
}
