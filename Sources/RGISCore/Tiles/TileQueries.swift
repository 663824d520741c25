/// What a vector tile of a layer holds, and how it is cut (``TileID``, ``VectorTile``).
public struct TileQuery: Sendable {
    public let layer: Layer
    public let tile: TileID
    /// Only listings, and only for the listings layer.
    public let filter: ListingFilter
    /// The buffer around the tile that features are kept and clipped to, as a share of its side.
    public static let buffer = 64.0 / Double(VectorTile.extent)
    /// Polygons are simplified to this many tile units (a tile is ``VectorTile/extent`` units wide).
    public let simplifyUnits: Double

    /// The properties a tile carries per layer, besides `id`: what a map styles, filters and labels by.
    public static func columns(_ layer: Layer) -> [String] {
        switch layer {
        case .listings: ["status", "property_type", "list_price", "living_area_m2", "bedrooms"]
        case .parcels: ["cadastral_number", "land_use", "zoning", "area_m2"]
        case .buildings: ["use", "floors", "height_m", "year_built"]
        case .districts: ["name", "level", "parent_id"]
        case .demands: []
        }
    }

    public init(layer: Layer, tile: TileID, filter: ListingFilter = ListingFilter(), simplifyUnits: Double = 1) {
        self.layer = layer
        self.tile = tile
        self.filter = filter
        self.simplifyUnits = simplifyUnits
    }
}

/// A feature cut to a tile, in its coordinates, with the few properties a map styles and labels by.
public struct TileFeature: Sendable {
    public let fid: Int64
    public let id: String
    public let geometry: TileGeometry
    public let properties: [(String, JSONValue)]

    public init(fid: Int64, id: String, geometry: TileGeometry, properties: [(String, JSONValue)]) {
        self.fid = fid
        self.id = id
        self.geometry = geometry
        self.properties = properties
    }
}

/// Listings meeting a box, grouped by the cells of the world's pixel grid at a zoom (cells of
/// `cellPixels` square, aligned to the grid, so a cell is the same whichever box asks).
public struct ClusterQuery: Sendable {
    public let box: BBox.Part
    public let zoom: Int
    public let cellPixels: Int
    public let filter: ListingFilter

    public init(box: BBox.Part, zoom: Int, cellPixels: Int, filter: ListingFilter) throws {
        guard (0...TileID.maximumZoom).contains(zoom) else {
            throw RGISError(.invalidValue, "zoom is 0 to \(TileID.maximumZoom), not \(zoom)", at: "parameter zoom")
        }
        guard [16, 32, 64, 128, 256].contains(cellPixels) else {
            throw RGISError(.invalidValue, "cell is 16, 32, 64, 128 or 256 pixels, not \(cellPixels)", at: "parameter cell")
        }
        guard box.west <= box.east, box.south <= box.north else {
            throw RGISError(.invalidValue, "bbox is west,south,east,north with west ≤ east and south ≤ north", at: "parameter bbox")
        }
        self.box = box
        self.zoom = zoom
        self.cellPixels = cellPixels
        self.filter = filter
    }
}

/// One cell's listings: how many, where on average, and the listing itself when it is alone.
public struct ListingCluster: Sendable, Equatable {
    public let column: Int
    public let row: Int
    public let count: Int
    /// The mean position of its listings.
    public let position: Position
    public let priceMin: Double?
    public let priceMax: Double?
    /// The listing's id when the cell holds one.
    public let singleID: String?
    public let singleFID: Int64?

    public init(column: Int, row: Int, count: Int, position: Position, priceMin: Double?, priceMax: Double?, singleID: String?, singleFID: Int64?) {
        self.column = column
        self.row = row
        self.count = count
        self.position = position
        self.priceMin = priceMin
        self.priceMax = priceMax
        self.singleID = singleID
        self.singleFID = singleFID
    }
}

extension ClusterQuery {
    /// Listings are grouped by their pixel at zoom 24 (2³² across the world, from the top left).
    public static let pixelBits = 32
    /// A cluster cell is a listing's zoom-24 pixel shifted right by this many bits.
    public var pixelShift: Int { Self.pixelBits - (zoom + 8) + cellPixels.trailingZeroBitCount }
}

extension ListingCluster {
    /// Where the listings of a cell lie on average, from the sums of their zoom-24 pixels.
    public static func meanPosition(sumX: Double, sumY: Double, count: Int) -> Position {
        let world = Double(UInt64(1) << UInt64(ClusterQuery.pixelBits))
        let mx = sumX / Double(count) / world, my = sumY / Double(count) / world
        return Position(lon: mx * 360 - 180, lat: TileID.latitude((0.5 - my) * 2 * TileID.originMetres))
    }
}
