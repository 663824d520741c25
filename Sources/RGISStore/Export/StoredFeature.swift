import GRDB
import RGISCore

/// A stored feature as exports and queries return it: storage key, source id, GeoJSON geometry and
/// properties (the typed fields merged over the source properties kept in `extra`).
public struct StoredFeature: Sendable {
    public let fid: Int64
    public let id: String
    /// The geometry as GeoJSON text (9 decimals, about 0.1 mm), exterior rings counter-clockwise.
    public let geometryGeoJSON: String
    public var properties: [String: JSONValue]

    /// The columns ``init(row:layer:)`` reads, in order, from the table aliased `alias`.
    public static func columns(_ layer: Layer, alias: String = "t") -> String {
        attributeColumns(layer, alias: alias) + ", AsGeoJSON(\(alias).geom, 9)"
    }

    /// ``columns(_:alias:)`` but the geometry: the storage key, the id, the fields and `extra`.
    public static func attributeColumns(_ layer: Layer, alias: String = "t") -> String {
        (["fid", "id"] + layer.fields.map(\.name) + ["extra"]).map { "\(alias).\($0)" }.joined(separator: ", ")
    }

    /// The columns of ``init(row:layer:pointAt:)``: the same without the GeoJSON geometry, and the
    /// point's coordinates instead, for callers that read them anyway.
    public static func pointColumns(alias: String = "t") -> String {
        (["fid", "id"] + Layer.listings.fields.map(\.name) + ["extra"]).map { "\(alias).\($0)" }.joined(separator: ", ")
            + ", X(\(alias).geom), Y(\(alias).geom)"
    }

    /// A point feature from ``pointColumns(alias:)``: its geometry written here from the coordinates,
    /// which saves SpatiaLite parsing the blob a second time to print it.
    public init(row: Row, pointLayer layer: Layer) {
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
    public static func columnCount(_ layer: Layer) -> Int { layer.fields.count + 4 }

    public init(fid: Int64, id: String, geometryGeoJSON: String, properties: [String: JSONValue]) {
        self.fid = fid
        self.id = id
        self.geometryGeoJSON = geometryGeoJSON
        self.properties = properties
    }

    public init(row: Row, layer: Layer) {
        self.init(row: row, layer: layer, geometryGeoJSON: row[layer.fields.count + 3] ?? "null")
    }

    private init(row: Row, layer: Layer, geometryGeoJSON: String) {
        let fields = layer.fields
        fid = row[0]
        id = row[1]
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
        self.properties = properties
        self.geometryGeoJSON = geometryGeoJSON
    }

    /// Appends the GeoJSON Feature.
    public func write(to out: inout String) {
        out += #"{"type":"Feature","id":"#
        JSONValue.writeString(id, to: &out)
        out += #","geometry":"#
        out += geometryGeoJSON
        out += #","properties":"#
        JSONValue.object(properties).write(to: &out)
        out += "}"
    }
}
