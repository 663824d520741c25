extension Geometry {
    /// The one geometry in a GeoJSON document that is a geometry, a Feature, or a FeatureCollection of
    /// exactly one Feature (what a drawing tool or `ogr2ogr` writes for a single shape), validated.
    public init(singleGeoJSON value: JSONValue, accepting kinds: Set<Kind>, role: String) throws {
        var geometry = value
        if case .string("FeatureCollection")? = value["type"] {
            guard case .array(let features)? = value["features"], features.count == 1 else {
                throw RGISError(.invalidValue, "\(role): a FeatureCollection must hold exactly one Feature")
            }
            geometry = features[0]
        }
        if case .string("Feature")? = geometry["type"] {
            geometry = geometry["geometry"] ?? .null
        }
        let parsed = try Geometry(geoJSON: geometry)
        guard kinds.contains(parsed.kind) else {
            throw RGISError(.invalidValue, "\(role) must be \(kinds.map(\.rawValue).sorted().joined(separator: " or ")), found \(parsed.typeName)")
        }
        try parsed.validate()
        self = parsed
    }
}
