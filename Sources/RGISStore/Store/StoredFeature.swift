import RGISCore

/// A stored feature as exports and queries return it: storage key, source id, GeoJSON geometry and
/// properties (the typed fields merged over the source properties the store keeps beside them).
public struct StoredFeature: Sendable {
    public let fid: Int64
    public let id: String
    /// The geometry as GeoJSON text (9 decimals, about 0.1 mm), exterior rings counter-clockwise.
    public let geometryGeoJSON: String
    public var properties: [String: JSONValue]

    public init(fid: Int64, id: String, geometryGeoJSON: String, properties: [String: JSONValue]) {
        self.fid = fid
        self.id = id
        self.geometryGeoJSON = geometryGeoJSON
        self.properties = properties
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
