import Foundation
import RGISCore
import RGISStore

/// Answers the queries of the CLI and the server (the same functions for both) on a store.
///
/// Here live the decisions above storage: which strategy a radius search takes, how nearest widens,
/// how matches are scored and ranked, and how indicators are figured and withheld. Every read goes
/// through the store's protocols; nothing here knows SQL.
public struct QueryEngine: Sendable {
    public let features: any FeatureStore
    public let archive: any ArchiveStore
    /// Indicators and series by market version, shared by every copy of this engine.
    let figureCache = FigureCache()
    /// Listing and district tiles, kept while the market stays the same (a map asks for the same tiles on every pan).
    let tileCache = FigureCache(capacity: 2048)
    /// Whether series computed for a request are kept without waiting for the store's writer (the
    /// server: a request never waits behind a write); else the request keeps them before it answers.
    public var keepsSeriesInBackground = false

    public init(features: any FeatureStore, archive: any ArchiveStore) {
        self.features = features
        self.archive = archive
    }

    /// The engine on the embedded SpatiaLite store.
    public init(_ store: SpatiaLiteStore) {
        self.init(features: store, archive: store)
    }

    // MARK: Radius and nearest

    /// Features within the radius of the centre, nearest first (ties by storage order), each with
    /// `distance_m`. Pages continue after ``RadiusQuery/after``.
    public func radius(_ query: RadiusQuery) async throws -> FeaturePage {
        try await features.radius(query, strategy: Self.strategy(for: query))
    }

    /// The one place a radius search's strategy is chosen.
    public static func strategy(for query: RadiusQuery) -> RadiusStrategy {
        guard query.layer.layer.storedGeometry == .point else { return .exactDistance }
        return query.filter.isEmpty ? .pointsInIndex : .pointCandidates
    }

    /// The `k` nearest features, with `distance_m`: radius searches that widen until `k` are found, so
    /// each step is an R*Tree lookup rather than a scan ordered by distance.
    public func nearest(_ query: NearestQuery) async throws -> FeaturePage {
        try query.filter.validate()
        // Half the earth's circumference reaches every point.
        let farthest = 20_100_000.0
        var radius = 250.0
        while true {
            var step = RadiusQuery(centre: query.centre, radius: RadiusMetres(widening: radius), limit: query.k)
            step.layer = query.layer
            step.filter = query.filter
            let page = try await self.radius(step)
            if page.features.count >= query.k.value || radius >= farthest {
                return FeaturePage(features: page.features, next: nil)
            }
            radius = min(radius * 4, farthest)
        }
    }

    // MARK: Polygon, bbox, districts

    /// Features that intersect (or lie within) a polygon, in storage order.
    public func polygon(_ query: PolygonQuery) async throws -> FeaturePage { try await features.polygon(query) }

    /// Features whose geometry meets a bbox (CRS84; west > east crosses the antimeridian), in storage order.
    public func bbox(_ query: BBoxQuery) async throws -> FeaturePage { try await features.bbox(query) }

    /// The districts containing a point, from the widest level down.
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
    public func items(_ query: ItemsQuery) async throws -> ItemsPage { try await features.items(query) }

    /// One feature by its source id.
    public func item(_ layer: Layer, id: String) async throws -> StoredFeature { try await features.feature(layer, id: id) }
}
