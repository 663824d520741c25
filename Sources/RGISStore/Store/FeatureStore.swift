import RGISCore

/// The features behind every query: search primitives, collection pages, matching and indicator
/// inputs, and cheap metadata. All calls are async and never run SQLite on the caller's thread; a
/// cancelled task interrupts the statement that is running and throws `CancellationError`.
///
/// Contracts every implementation keeps (SpatiaLite today, PostGIS next):
/// - Coordinates are (lon, lat) on WGS84; distances are geodesic metres on the ellipsoid.
/// - Each call reads one consistent snapshot; calls are independent of each other.
/// - Pages are keyset pages: a cursor names the last row's sort key, so no row repeats or goes missing
///   between pages while the data stays the same.
/// - Errors are ``RGISError``: `.notFound` for an unknown id, `.invalidValue` for a value the data
///   refuses (an invalid polygon), `.database` for anything else; never a driver's own error.
public protocol FeatureStore: Sendable {
    /// Features within `query.radius` of its centre, nearest first (ties by storage key), each with
    /// `distance_m` rounded to the millimetre (geodesic on WGS84), through a spatial index: the backend
    /// plans how. The next page starts after `query.after` (a distance cursor).
    func radius(_ query: RadiusQuery) async throws -> FeaturePage

    /// The `query.k` features nearest its centre (anywhere on earth), nearest first (ties by storage
    /// key), each with `distance_m` as ``radius(_:)`` gives it, through a spatial index: the backend
    /// plans how (radius searches widening from 250 m, or a walk of an index ordered by distance).
    func nearest(_ query: NearestQuery) async throws -> FeaturePage

    /// Features meeting (or within) a validated polygon, in storage order. Throws `.invalidValue`
    /// naming GEOS's reason when the polygon is not valid.
    func polygon(_ query: PolygonQuery) async throws -> FeaturePage

    /// Features whose geometry meets a bbox (west > east crosses the antimeridian), in storage order.
    func bbox(_ query: BBoxQuery) async throws -> FeaturePage

    /// The district holding a point at each level, widest level first: the one whose polygon covers
    /// the point (boundary included), the lowest fid where several do, as listings and demands are
    /// placed (docs/ARCHITECTURE.md, "Placement in districts").
    func districts(containing point: Position) async throws -> FeaturePage

    /// A district, then its direct children in storage order; `.notFound` for an unknown id.
    func district(id: String) async throws -> FeaturePage

    /// The listings placed in a district (by the same rule), in storage order after `after`.
    func listings(inDistrict id: String, filter: ListingFilter, limit: Limit, after: PageCursor?) async throws -> FeaturePage

    /// A page of a collection in storage order, with the counts and keys OGC's links need. Features come
    /// already written as GeoJSON (``ItemsPage/featuresGeoJSON``), so a large page is held once.
    func items(_ query: ItemsQuery) async throws -> ItemsPage

    /// One feature by its source id; `.notFound` when there is none.
    func feature(_ layer: Layer, id: String) async throws -> StoredFeature

    /// A demand's criteria and shape, and the active listings inside its search area that meet the
    /// criteria (unordered). `.notFound` for an unknown demand.
    func listingsFitting(demand id: String) async throws -> (demand: DemandTarget, listings: [ListingCandidate])

    /// The active demands whose search area contains `point` and whose criteria `listing` meets
    /// (unordered), each with what scoring needs and no geometry, within `reach`: everywhere, every
    /// area that can hold it; near the centre, the few whose closeness to it may reach the threshold.
    /// With `beyond`, a smaller reach whose answer the caller has, only those it did not read.
    func demandsFitting(_ listing: ListingFacts, at point: Position, reach: FitReach, beyond: FitReach?) async throws -> [DemandFit]

    /// Demands by `fid`, whole, in the order given (the few a ranking keeps).
    func demandFeatures(fids: [Int64]) async throws -> [StoredFeature]

    /// Every district of a level with the counts and medians of the listings and demands placed in
    /// it, for the indicators: grouped reads over the placement indexes, no polygon test.
    /// Listings on the market more than `unsoldThresholdDays` on `asOf` count as long unsold.
    func indicatorInputs(level: DistrictLevel, asOf: ISODate, periodStart: ISODate, unsoldThresholdDays: Int) async throws -> IndicatorInputs

    /// Every active demand placed in a level's districts with its criteria and how well the active
    /// listings meet it (``FitGrade``: the fit rules of ``listingsFitting(demand:)``, with and without
    /// the stretch), and every active listing placed in them with its facts, for the unmet-demand
    /// table: one snapshot; each demand's fits found through the listings' spatial index.
    func unmetDemandInputs(level: DistrictLevel) async throws -> UnmetDemandInputs

    /// The listings and demands placed in a level's districts (or in those of `districts`, by fid),
    /// with their dated changes and the districts' series stamps, for the monthly series.
    func marketHistory(level: DistrictLevel, districts: [Int64]?) async throws -> MarketHistory

    /// The districts of a level (or the one with id `district`: `.notFound` for an unknown one) with
    /// the series kept for them, where still current.
    func keptSeries(level: DistrictLevel, district: String?) async throws -> KeptSeries

    /// Keeps computed series; an entry under a stamp older than one already kept is not written. A
    /// store that cannot write now (a read-only file, another process writing) keeps nothing and
    /// says nothing: kept series only save work.
    func keepSeries(_ entries: [KeptSeries.Entry]) async throws

    /// Per district of a level, the clients with an active demand placed in it, by the value of one of
    /// their segment fields (nil where not recorded); districts in storage order.
    func segmentCounts(level: DistrictLevel, by: ClientSegment) async throws -> SegmentCounts

    /// The districts of a level, whole (with their polygons), in storage order.
    func districts(level: DistrictLevel) async throws -> [StoredFeature]

    /// A token that moves whenever a listing, demand, district or client is written (figures computed
    /// from them stay valid while it does not). Read before computing: a write that lands meanwhile
    /// moves it again.
    func marketChangeToken() async throws -> ChangeToken

    /// The local CRS the database's users chose (`rgis init --local-crs`), if any.
    func localCRS() async throws -> CRSReference?

    /// The features of a layer meeting a tile and its buffer, simplified to a tile unit, clipped to
    /// the buffer and in the tile's coordinates (``VectorTile/extent``), in storage order.
    func tileFeatures(_ query: TileQuery) async throws -> [TileFeature]

    /// The listings inside a box (exactly: every listing a bbox query over it returns) grouped by the
    /// cells of the pixel grid at a zoom, in cell order.
    func listingClusters(_ query: ClusterQuery) async throws -> [ListingCluster]

    /// Counts and extents of every layer, kept by the store as rows change: no table is scanned.
    func layerStatistics() async throws -> [LayerStatistics]

    /// Whether the store answers at all (for `/health`).
    func ping() async throws

    /// Whether this process still writes where every other process reads (for `/health` and
    /// `/metrics`): a database file, or its log, deleted or replaced under a running process is a fault
    /// that stays until the process is restarted, and every write meanwhile is refused.
    func storageHealth() -> StorageHealth
}

/// What ``FeatureStore/storageHealth()`` reports.
public struct StorageHealth: Sendable, Equatable {
    /// What went wrong, or nil while writes reach the storage other processes read.
    public var fault: String?
    /// Writes refused because of the fault.
    public var refusedWrites: Int
    /// Bytes the store takes where it keeps its data, and its write-ahead log (0 where a backend has
    /// none of its own to report).
    public var storageBytes: Double
    public var logBytes: Double

    public init(fault: String?, refusedWrites: Int, storageBytes: Double = 0, logBytes: Double = 0) {
        self.fault = fault
        self.refusedWrites = refusedWrites
        self.storageBytes = storageBytes
        self.logBytes = logBytes
    }
}

/// A page of `/items`: the features as GeoJSON text and what OGC's links and counts need.
public struct ItemsPage: Sendable {
    /// The page's Features, comma-separated (no brackets), in storage order.
    public var featuresGeoJSON = ""
    public var numberReturned = 0
    /// Nil when counting would cost a scan (filters on columns without an index).
    public var numberMatched: Int?
    public var firstFid: Int64?
    public var lastFid: Int64?
    public var hasNext = false
    public var hasPrev = false

    public init() {}
}

/// A demand as matching sees it: the stored feature, its criteria, and its search area's centre and size.
public struct DemandTarget: Sendable {
    public var feature: StoredFeature
    public var criteria: DemandCriteria
    /// The centroid of the search area.
    public var centre: Position
    /// The search area's geodesic area (PROJ), m².
    public var areaSquareMetres: Double

    public init(feature: StoredFeature, criteria: DemandCriteria, centre: Position, areaSquareMetres: Double) {
        self.feature = feature
        self.criteria = criteria
        self.centre = centre
        self.areaSquareMetres = areaSquareMetres
    }
}

/// A listing as matching sees it: the stored feature and its point.
/// A demand as the reverse match ranks it: its criteria, centre and geodesic area, without its shape.
public struct DemandFit: Sendable {
    public var fid: Int64
    public var id: String
    public var criteria: DemandCriteria
    public var centre: Position
    public var areaSquareMetres: Double

    public init(fid: Int64, id: String, criteria: DemandCriteria, centre: Position, areaSquareMetres: Double) {
        self.fid = fid
        self.id = id
        self.criteria = criteria
        self.centre = centre
        self.areaSquareMetres = areaSquareMetres
    }
}

public struct ListingCandidate: Sendable {
    public var feature: StoredFeature
    public var position: Position

    public init(feature: StoredFeature, position: Position) {
        self.feature = feature
        self.position = position
    }
}

/// The rows the district indicators are computed from.
public struct IndicatorInputs: Sendable {
    /// A median and how many values it was taken over (the small-number rule reads the count).
    public struct Median: Sendable, Equatable {
        public var count: Int
        public var value: Double?
        public init(count: Int, value: Double?) { self.count = count; self.value = value }
    }

    /// What one district holds, as of a day.
    public struct District: Sendable {
        public var feature: StoredFeature
        public var activeListings = 0
        /// Active listings with a price and a living area over zero.
        public var pricePerM2 = Median(count: 0, value: nil)
        /// Active listings listed on or before the day, and their days on the market to it.
        public var daysOnMarket = Median(count: 0, value: nil)
        /// Of those, listed more than the threshold's days before the day.
        public var longUnsold = 0
        /// The living area of the active listings (vacant floor area), and of the long-unsold ones, m².
        public var floorAreaM2 = 0.0
        public var longUnsoldFloorAreaM2 = 0.0
        /// How many listings each floor area sums (those with a living area).
        public var floorAreaListings = 0
        public var longUnsoldFloorAreaListings = 0
        public var closedInPeriod = 0
        public var activeDemands = 0
        public var budget = Median(count: 0, value: nil)
        public init(feature: StoredFeature) { self.feature = feature }
    }

    /// The level's districts, in storage order.
    public var districts: [District]
    public init(districts: [District]) { self.districts = districts }
}

/// What a layer holds, as the store keeps it current.
public struct LayerStatistics: Sendable, Equatable {
    public var layer: Layer
    public var count: Int
    /// Nil for an empty layer.
    public var extent: BBox?

    public init(layer: Layer, count: Int, extent: BBox?) {
        self.layer = layer
        self.count = count
        self.extent = extent
    }
}

/// The rows the unmet-demand table is computed from (``FeatureStore/unmetDemandInputs(level:)``).
public struct UnmetDemandInputs: Sendable {
    public struct Demand: Sendable {
        public var id: String
        public var district: Int64
        public var criteria: DemandCriteria
        public var grade: FitGrade
        package init(id: String, district: Int64, criteria: DemandCriteria, grade: FitGrade) {
            self.id = id
            self.district = district
            self.criteria = criteria
            self.grade = grade
        }
    }

    public struct Listing: Sendable {
        public var district: Int64
        public var facts: ListingFacts
        package init(district: Int64, facts: ListingFacts) {
            self.district = district
            self.facts = facts
        }
    }

    /// The level's districts, in storage order.
    public var districts: [MarketHistory.District]
    public var demands: [Demand]
    public var listings: [Listing]

    package init(districts: [MarketHistory.District], demands: [Demand], listings: [Listing]) {
        self.districts = districts
        self.demands = demands
        self.listings = listings
    }
}

/// Clients with active demand per district and segment value.
public struct SegmentCounts: Sendable {
    public struct Cell: Sendable {
        public var district: Int64
        public var segment: String?
        public var clients: Int

        package init(district: Int64, segment: String? = nil, clients: Int) {
            self.district = district
            self.segment = segment
            self.clients = clients
        }
    }

    public var districts: [MarketHistory.District]
    public var cells: [Cell]

    package init(districts: [MarketHistory.District], cells: [Cell]) {
        self.districts = districts
        self.cells = cells
    }
}

extension FeatureStore {
    /// Every demand a listing fits within `reach`, none read before.
    public func demandsFitting(_ listing: ListingFacts, at point: Position, reach: FitReach) async throws -> [DemandFit] {
        try await demandsFitting(listing, at: point, reach: reach, beyond: nil)
    }
}
