import Foundation
import RGISCore
import RGISGeodesy
import RGISStore

/// Answers the queries of the CLI and the server (the same functions for both) on a store.
///
/// Here live the decisions above storage: how nearest widens,
/// how matches are scored and ranked, and how indicators are figured and withheld. Every read goes
/// through the store's protocols; nothing here knows SQL.
public struct QueryEngine: Sendable {
    public let features: any FeatureStore
    public let archive: any ArchiveStore
    /// Indicators and series by market version, shared by every copy of this engine.
    let figureCache = FigureCache()
    /// Listing and district tiles, kept while the market stays the same (a map asks for the same tiles on every pan).
    let tileCache = FigureCache(capacity: 2048)
    /// Pages of listings and districts, kept on the same terms: a map or a GIS client asks for the
    /// same box again, and a dense box costs a pass over its R*Tree entries to page and count.
    let pageCache = FigureCache(capacity: 256)
    /// Pages larger than this are made again on each request rather than kept (256 × 128 kB at most).
    static let keptPageBytes = 128 * 1024
    /// Whether series computed for a request are kept without waiting for the store's writer (the
    /// server: a request never waits behind a write); else the request keeps them before it answers.
    public var keepsSeriesInBackground = false

    public init(features: any FeatureStore, archive: any ArchiveStore) {
        self.features = features
        self.archive = archive
    }

    /// The engine on a store.
    public init(_ store: any Store) {
        self.init(features: store, archive: store)
    }

    // MARK: Radius and nearest

    /// Features within the radius of the centre, nearest first (ties by storage order), each with
    /// `distance_m`. Pages continue after ``RadiusQuery/after``.
    public func radius(_ query: RadiusQuery) async throws -> FeaturePage {
        try await features.radius(query)
    }

    /// The `k` nearest features, with `distance_m`, through the store's spatial index.
    public func nearest(_ query: NearestQuery) async throws -> FeaturePage {
        try await features.nearest(query)
    }

    // MARK: Polygon, bbox, districts

    /// Features that intersect (or lie within) a polygon, in storage order.
    public func polygon(_ query: PolygonQuery) async throws -> FeaturePage { try await features.polygon(query) }

    /// Features whose geometry meets a bbox (CRS84; west > east crosses the antimeridian), in storage order.
    public func bbox(_ query: BBoxQuery) async throws -> FeaturePage { try await features.bbox(query) }

    /// The district holding a point at each level (the placement rule), from the widest level down.
    public func districts(containing centre: Centre) async throws -> FeaturePage {
        try await features.districts(containing: centre.position)
    }

    /// A district and its direct children (first the district itself).
    public func district(id: String) async throws -> FeaturePage { try await features.district(id: id) }

    /// The listings inside a district's polygon (and so inside its sub-districts), in storage order.
    public func listings(inDistrict id: String, filter: ListingFilter = ListingFilter(), limit: Limit, after: PageCursor? = nil) async throws -> FeaturePage {
        try await features.listings(inDistrict: id, filter: filter, limit: limit, after: after)
    }

    // MARK: Collections

    /// A page of a collection in storage order.
    /// An OGC items page; a bbox given in another CRS is turned into CRS84 first, and the features are
    /// answered in the CRS asked for (both among ``offeredCRS()``).
    public func items(_ query: ItemsQuery) async throws -> ItemsPage {
        guard query.layer == .listings || query.layer == .districts else { return try await itemsPage(query) }
        return try await pageCache.value("items|\(query)", version: try await features.marketChangeToken(),
                                         keepIf: { $0.featuresGeoJSON.utf8.count <= Self.keptPageBytes }) { try await itemsPage(query) }
    }

    func itemsPage(_ query: ItemsQuery) async throws -> ItemsPage {
        var query = query
        try await checkOffered(query.crs, parameter: "crs")
        if let given = query.bboxInCRS {
            try await checkOffered(given.crs, parameter: "bbox-crs")
            let v = given.values
            switch given.crs {
            case .crs84: query.bbox = try BBox(west: v[0], south: v[1], east: v[2], north: v[3])
            case .wgs84LatLon: query.bbox = try BBox(west: v[1], south: v[0], east: v[3], north: v[2])
            case .webMercator: query.bbox = try CRSTransform.to(given.crs).boxInCRS84(v)  // a rectangle of lon/lat
            case .epsg(let code):
                // The CRS84 box that holds the grid's rectangle finds the candidates; the rectangle decides.
                let transform = try CRSTransform.to(given.crs)
                query.bbox = try transform.boxInCRS84(v)
                query.boxInGrid = transform.northingFirst ? (code, v[1], v[0], v[3], v[2]) : (code, v[0], v[1], v[2], v[3])
            }
            query.bboxInCRS = nil
        }
        var page = try await features.items(query)
        if query.crs != .crs84 { page.featuresGeoJSON = try CRSTransform.to(query.crs).features(page.featuresGeoJSON) }
        return page
    }

    /// One feature by its source id, in `crs` (among ``offeredCRS()``).
    public func item(_ layer: Layer, id: String, crs: CRSReference = .crs84) async throws -> StoredFeature {
        try await checkOffered(crs, parameter: "crs")
        let feature = try await features.feature(layer, id: id)
        guard crs != .crs84 else { return feature }
        let geometry = try CRSTransform.to(crs).geometry(try JSONValue.parse(Array(feature.geometryGeoJSON.utf8)))
        return StoredFeature(fid: feature.fid, id: feature.id, geometryGeoJSON: geometry.jsonText, properties: feature.properties)
    }

    /// A GeoJSON geometry in `crs` (among ``offeredCRS()``).
    public func reprojected(_ geometry: JSONValue, to crs: CRSReference) async throws -> JSONValue {
        try await checkOffered(crs, parameter: "crs")
        return try CRSTransform.to(crs).geometry(geometry)
    }

    /// The CRSs features are answered in (OGC API – Features Part 2): CRS84 (stored), EPSG:4326
    /// (lat/lon), EPSG:3857 (web maps), and the database's local CRS if one was chosen.
    public func offeredCRS() async throws -> [CRSReference] {
        let local = try await features.localCRS()
        return [.crs84, .wgs84LatLon, .webMercator] + (local.map { [.crs84, .wgs84LatLon, .webMercator].contains($0) ? [] : [$0] } ?? [])
    }

    private func checkOffered(_ crs: CRSReference, parameter: String) async throws {
        // CRS84 and its two other names are always offered: no need to read the local CRS for them.
        guard ![.crs84, .wgs84LatLon, .webMercator].contains(crs) else { return }
        let offered = try await offeredCRS()
        guard offered.contains(crs) else {
            throw RGISError(.invalidValue, "\(crs.projName) is not offered; \(parameter) takes one of \(offered.map(\.uri).joined(separator: ", "))", at: "parameter \(parameter)")
        }
    }
}
