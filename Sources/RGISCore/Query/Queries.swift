/// Features within a geodesic radius of a point, nearest first, each with its distance in metres.
public struct RadiusQuery: Sendable {
    public var layer: QueryLayer = .listings
    public var centre: Centre
    public var radius: RadiusMetres
    public var filter = ListingFilter()
    public var limit: Limit
    public var after: PageCursor?

    public init(centre: Centre, radius: RadiusMetres, limit: Limit) {
        self.centre = centre
        self.radius = radius
        self.limit = limit
    }
}

/// The k nearest features to a point, with their distances in metres.
public struct NearestQuery: Sendable {
    public var layer: QueryLayer = .listings
    public var centre: Centre
    public var k: Limit
    public var filter = ListingFilter()

    public init(centre: Centre, k: Limit) {
        self.centre = centre
        self.k = k
    }

    /// The radius search over `radius` that answers this query's first `k`.
    public func within(_ radius: RadiusMetres) -> RadiusQuery {
        var query = RadiusQuery(centre: centre, radius: radius, limit: k)
        query.layer = layer
        query.filter = filter
        return query
    }
}

/// Features intersecting (or within) a polygon.
public struct PolygonQuery: Sendable {
    public enum Predicate: String, Sendable { case intersects, within }

    public var layer: QueryLayer = .listings
    public var area: SearchArea
    public var predicate: Predicate = .intersects
    public var filter = ListingFilter()
    public var limit: Limit
    public var after: PageCursor?

    public init(area: SearchArea, limit: Limit) {
        self.area = area
        self.limit = limit
    }
}

/// Features whose box meets a bbox.
public struct BBoxQuery: Sendable {
    public var layer: QueryLayer = .listings
    public var bbox: BBox
    public var filter = ListingFilter()
    public var limit: Limit
    public var after: PageCursor?

    public init(bbox: BBox, limit: Limit) {
        self.bbox = bbox
        self.limit = limit
    }
}

/// A drawn or given search polygon, checked: a Polygon or MultiPolygon with closed rings, lon/lat in
/// range and at most ``maxVertices`` positions. Self-intersection is checked by GEOS in the store.
public struct SearchArea: Sendable {
    public static let maxVertices = 10_000
    public let geometry: Geometry

    public init(_ geometry: Geometry) throws {
        guard geometry.kind == .polygon || geometry.kind == .multiPolygon else {
            throw RGISError(.invalidValue, "the search area must be a Polygon or MultiPolygon, found \(geometry.typeName)", at: "parameter geometry")
        }
        let count = geometry.positions.count
        guard count <= Self.maxVertices else {
            throw RGISError(.invalidValue, "the polygon has \(count) positions; at most \(Self.maxVertices) are allowed", at: "parameter geometry")
        }
        do {
            try geometry.validate()
        } catch let error as RGISError {
            throw error.located("parameter geometry")
        }
        self.geometry = geometry
    }

    /// Reads a GeoJSON geometry, a Feature, or a FeatureCollection holding one polygon feature.
    public init(geoJSON value: JSONValue) throws {
        let wrong = { (found: String) in
            RGISError(.invalidValue, "expected a GeoJSON Polygon or MultiPolygon geometry, Feature or FeatureCollection of one, found \(found)", at: "parameter geometry")
        }
        switch value["type"] {
        case .string("Feature")?:
            guard let g = value["geometry"], !g.isNull else { throw wrong("a Feature without geometry") }
            try self.init(geoJSON: g)
        case .string("FeatureCollection")?:
            guard case .array(let features)? = value["features"], features.count == 1 else {
                throw wrong("a FeatureCollection that does not hold exactly one feature")
            }
            try self.init(geoJSON: features[0])
        case .string?:
            let geometry: Geometry
            do {
                geometry = try Geometry(geoJSON: value)
            } catch let error as RGISError {
                throw error.located("parameter geometry")
            }
            try self.init(geometry)
        default:
            throw wrong(value.typeName)
        }
    }
}
