import GRDB
import RGISCore
import RGISStore

/// A rectangle of the listings' zoom-24 pixels (or of cells at one level), both ends included.
struct PixelRect {
    var x0: Int64, x1: Int64, y0: Int64, y1: Int64
    var isEmpty: Bool { x0 > x1 || y0 > y1 }

    /// The cells of a level (`shift` bits) wholly inside this rectangle.
    func cellsInside(shift: Int) -> PixelRect {
        let side = Int64(1) << Int64(shift)
        return PixelRect(x0: (x0 + side - 1) >> Int64(shift), x1: ((x1 + 1) >> Int64(shift)) - 1,
                         y0: (y0 + side - 1) >> Int64(shift), y1: ((y1 + 1) >> Int64(shift)) - 1)
    }

    /// The pixels of these cells (`shift` bits).
    func pixels(shift: Int) -> PixelRect {
        let s = Int64(shift)
        return PixelRect(x0: x0 << s, x1: ((x1 + 1) << s) - 1, y0: y0 << s, y1: ((y1 + 1) << s) - 1)
    }

    /// This rectangle without `inner` (which lies inside it): up to four bands, top and bottom full width.
    func without(_ inner: PixelRect) -> [PixelRect] {
        [PixelRect(x0: x0, x1: x1, y0: y0, y1: inner.y0 - 1), PixelRect(x0: x0, x1: x1, y0: inner.y1 + 1, y1: y1),
         PixelRect(x0: x0, x1: inner.x0 - 1, y0: inner.y0, y1: inner.y1), PixelRect(x0: inner.x1 + 1, x1: x1, y0: inner.y0, y1: inner.y1)]
            .filter { !$0.isEmpty }
    }

    func intersection(_ o: PixelRect) -> PixelRect {
        PixelRect(x0: max(x0, o.x0), x1: min(x1, o.x1), y0: max(y0, o.y0), y1: min(y1, o.y1))
    }

    /// Wider than tall: read through the R*Tree (the pixel index is ordered by column first).
    var isWide: Bool { x1 - x0 > y1 - y0 }
}

/// The map's clusters from the kept cell counts (``ListingCells``): the box's pixels are covered by the
/// cells wholly inside it, from the cluster level down to level 17 (the coarsest that fit, then a ring
/// of finer ones at each level), and only the listings in the frame left between those cells and the
/// box's edge are read one by one. A listing in an edge pixel is tested on its point, as a bbox query
/// tests it; where one inside the cells fails that test, its cluster is read again from the listings.
/// With filters other than status and type the cells cannot answer, and the listings are read.
extension SpatiaLiteStore {
    public func listingClusters(_ query: ClusterQuery) async throws -> [ListingCluster] {
        var countable = query.filter
        countable.statuses = []
        countable.propertyTypes = []
        let clusterLevel = ListingPixels.bits - query.pixelShift
        guard countable.isEmpty, ListingCells.levels.contains(clusterLevel) else { return try await listingClustersFromRows(query) }
        let filter = try query.filter.sql(alias: "t", layer: .listings)
        var conditions: [SQL] = []
        if !query.filter.statuses.isEmpty { conditions.append(" AND status IN (\(SpatialSQL.list(query.filter.statuses.map(\.rawValue))))") }
        if !query.filter.propertyTypes.isEmpty { conditions.append(" AND property_type IN (\(SpatialSQL.list(query.filter.propertyTypes.map(\.rawValue))))") }
        let cellFilter = conditions.joined()
        return try await read { db in
            var reader = CellReader(db: db, box: query.box, clusterShift: query.pixelShift, filter: filter)
            try reader.readCells(fromLevel: clusterLevel, filter: cellFilter)
            return try reader.clusters()
        }
    }
}

struct CellReader {
    struct Cell { var count = 0, sumX = 0.0, sumY = 0.0, priceMin: Double?, priceMax: Double?, fid: Int64 = 0 }

    let db: Database
    let box: BBox.Part
    let clusterShift: Int
    let filter: SQL
    /// The box's pixels: `pixels` those wholly or partly inside it, `reach` one more on each side.
    let pixels: PixelRect, reach: PixelRect
    /// Listings strictly inside these are inside the box whatever their point's rounding.
    let sure: SQL
    var cells: [Int64: Cell] = [:]

    init(db: Database, box: BBox.Part, clusterShift: Int, filter: SQL) {
        self.db = db
        self.box = box
        self.clusterShift = clusterShift
        self.filter = filter
        let nw = TileID.pixel(Position(lon: box.west, lat: box.north), zoom: ListingPixels.zoom)
        let se = TileID.pixel(Position(lon: box.east, lat: box.south), zoom: ListingPixels.zoom)
        // An edge a hair off a pixel boundary is on it: a tile's edges, computed back from degrees,
        // otherwise lose a whole column of cells to the frame read row by row.
        func pixel(_ v: Double) -> Int64 { Int64((abs(v - v.rounded()) < 1e-3 ? v.rounded() : v).rounded(.down)) }
        let x0 = pixel(nw.x), x1 = pixel(se.x), y0 = pixel(nw.y), y1 = pixel(se.y)
        let last = Int64(UInt32.max)
        pixels = PixelRect(x0: x0, x1: x1 - 1, y0: y0, y1: y1 - 1)
        reach = PixelRect(x0: max(x0 - 1, 0), x1: min(x1 + 1, last), y0: max(y0 - 1, 0), y1: min(y1 + 1, last))
        sure = "t.map_x > \(x0) AND t.map_x < \(x1 - 1) AND t.map_y > \(y0) AND t.map_y < \(y1 - 1)"
    }

    func key(_ x: Int64, _ y: Int64, shift: Int) -> Int64 { (x >> Int64(shift)) << 32 | (y >> Int64(shift)) }

    mutating func add(_ key: Int64, _ count: Int, _ sumX: Double, _ sumY: Double, _ low: Double?, _ high: Double?, _ fid: Int64) {
        var c = cells[key, default: Cell()]
        c.count += count
        c.sumX += sumX
        c.sumY += sumY
        if let low { c.priceMin = min(c.priceMin ?? low, low) }
        if let high { c.priceMax = max(c.priceMax ?? high, high) }
        c.fid = max(c.fid, fid)
        cells[key] = c
    }

    mutating func readCells(fromLevel clusterLevel: Int, filter cellFilter: SQL) throws {
        var previous: PixelRect?
        for level in clusterLevel...ListingCells.finest {
            let shift = ListingCells.shift(level)
            let inside = pixels.cellsInside(shift: shift)
            if inside.isEmpty { continue }
            let bands = previous.map { p in inside.without(PixelRect(x0: 2 * p.x0, x1: 2 * p.x1 + 1, y0: 2 * p.y0, y1: 2 * p.y1 + 1)) } ?? [inside]
            for band in bands { try readCells(level: level, band, filter: cellFilter) }
            previous = inside
        }
        guard let finest = previous else {
            try readListings(reach)
            return
        }
        let counted = finest.pixels(shift: ListingCells.shift(ListingCells.finest))
        for band in reach.without(counted) { try readListings(band) }
        // Listings in the counted cells but in the box's edge pixels, outside the box by their point.
        let edges = [PixelRect(x0: pixels.x0, x1: pixels.x0, y0: counted.y0, y1: counted.y1),
                     PixelRect(x0: pixels.x1, x1: pixels.x1, y0: counted.y0, y1: counted.y1),
                     PixelRect(x0: counted.x0, x1: counted.x1, y0: pixels.y0, y1: pixels.y0),
                     PixelRect(x0: counted.x0, x1: counted.x1, y0: pixels.y1, y1: pixels.y1)].map { $0.intersection(counted) }
        var outside: Set<Int64> = []
        for edge in edges where !edge.isEmpty {
            for row in try db.rows("SELECT t.map_x, t.map_y FROM listings t \(access(edge))\(filter) AND NOT \(pointInBox)") {
                outside.insert(key(row[0], row[1], shift: clusterShift))
            }
        }
        for cluster in outside {
            cells[cluster] = nil
            let s = Int64(clusterShift)
            let rect = PixelRect(x0: (cluster >> 32) << s, x1: (((cluster >> 32) + 1) << s) - 1,
                                 y0: (cluster & 0xFFFF_FFFF) << s, y1: (((cluster & 0xFFFF_FFFF) + 1) << s) - 1)
            try readListings(rect.intersection(reach))
        }
    }

    /// Every listing in the box: the interior grouped by cluster in one read of the pixel index, the edge pixels' listings one by one.
    mutating func readAllListings() throws {
        let box = SpatiaLiteStore.PixelBox(box)
        let grouped = try db.rows("""
            SELECT t.map_x >> \(clusterShift) AS cx, t.map_y >> \(clusterShift) AS cy, count(*), sum(t.map_x), sum(t.map_y), min(t.list_price), max(t.list_price), max(t.fid)
            FROM listings t INDEXED BY listings_map
            WHERE \(box.interior)\(filter)
            GROUP BY cx, cy
            """)
        for row in grouped {
            let cx: Int64 = row[0], cy: Int64 = row[1]
            add(cx << 32 | cy, row[2], row[3], row[4], row[5], row[6], row[7])
        }
        for row in try db.rows("SELECT t.map_x, t.map_y, t.list_price, t.fid FROM listings t INDEXED BY listings_map WHERE \(box.edges)\(filter)") {
            let x: Int64 = row[0], y: Int64 = row[1], price: Double? = row[2]
            add(key(x, y, shift: clusterShift), 1, Double(x), Double(y), price, price, row[3])
        }
    }

    /// One band of cells at a level, summed into their clusters.
    mutating func readCells(level: Int, _ band: PixelRect, filter cellFilter: SQL) throws {
        let d = clusterShift - ListingCells.shift(level)
        // One seek per row (wide bands, the second order) or per column (the key's order), each a range
        // of the other: a range on both would read every cell of those columns across the whole map.
        let order: SQL = band.isWide
            ? "INDEXED BY listing_cells_by_row WHERE cy IN (\(SpatialSQL.list(Array(band.y0...band.y1)))) AND cx BETWEEN \(band.x0) AND \(band.x1)"
            : "WHERE cx IN (\(SpatialSQL.list(Array(band.x0...band.x1)))) AND cy BETWEEN \(band.y0) AND \(band.y1)"
        let rows = try db.rows("""
            SELECT cx >> \(d), cy >> \(d), sum(n), sum(sum_x), sum(sum_y), min(price_min), max(price_max), max(fid_max)
            FROM listing_cells \(order) AND level = \(level) AND n > 0\(cellFilter)
            GROUP BY 1, 2
            """)
        for row in rows {
            let kx: Int64 = row[0], ky: Int64 = row[1]
            add(kx << 32 | ky, row[2], row[3], row[4], row[5], row[6], row[7])
        }
    }

    var pointInBox: SQL {
        "(ST_X(t.geom) BETWEEN \(box.west) AND \(box.east) AND ST_Y(t.geom) BETWEEN \(box.south) AND \(box.north))"
    }

    /// The rows of a pixel rectangle: a tall one through the pixel index, a wide one through the R*Tree.
    func access(_ r: PixelRect) -> SQL {
        let within: SQL = "t.map_x BETWEEN \(r.x0) AND \(r.x1) AND t.map_y BETWEEN \(r.y0) AND \(r.y1)"
        guard r.isWide else { return "INDEXED BY listings_map WHERE \(within)" }
        let world = Double(UInt64(1) << UInt64(ListingPixels.bits))
        func lon(_ x: Int64) -> Double { Double(x) / world * 360 - 180 }
        func lat(_ y: Int64) -> Double { TileID.latitude(TileID.originMetres - Double(y) / world * 2 * TileID.originMetres) }
        // Two pixels wider on each side than the rectangle: the R*Tree only narrows, the pixels decide.
        let degrees = try! BBox.Part(west: max(lon(r.x0 - 2), -180), south: max(lat(r.y1 + 3), -90), east: min(lon(r.x1 + 3), 180), north: min(lat(r.y0 - 2), 90))
        return "WHERE \(SpatialSQL.candidates(.listings, boxes: [degrees])) AND \(within)"
    }

    /// The listings of a pixel rectangle that are in the box, each into its cluster.
    mutating func readListings(_ r: PixelRect) throws {
        guard !r.isEmpty else { return }
        for row in try db.rows("SELECT t.map_x, t.map_y, t.list_price, t.fid FROM listings t \(access(r))\(filter) AND (\(sure) OR \(pointInBox))") {
            let x: Int64 = row[0], y: Int64 = row[1], price: Double? = row[2]
            add(key(x, y, shift: clusterShift), 1, Double(x), Double(y), price, price, row[3])
        }
    }

    func clusters() throws -> [ListingCluster] {
        let singles = cells.values.filter { $0.count == 1 }.map(\.fid)
        var ids: [Int64: String] = [:]
        for chunk in stride(from: 0, to: singles.count, by: 500) {
            let part = Array(singles[chunk..<min(chunk + 500, singles.count)])
            for row in try db.rows("SELECT fid, id FROM listings WHERE fid IN (\(SpatialSQL.list(part)))") { ids[row[0]] = row[1] }
        }
        return cells.sorted { $0.key < $1.key }.map { key, c in
            let position = ListingCluster.meanPosition(sumX: c.sumX, sumY: c.sumY, count: c.count)
            return ListingCluster(column: Int(key >> 32), row: Int(key & 0xFFFF_FFFF), count: c.count, position: position,
                                  priceMin: c.priceMin, priceMax: c.priceMax,
                                  singleID: c.count == 1 ? ids[c.fid] : nil, singleFID: c.count == 1 ? c.fid : nil)
        }
    }
}
