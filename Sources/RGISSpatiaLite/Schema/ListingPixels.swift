import GRDB
import RGISCore
import RGISGeodesy
import RGISStore

/// Each listing records where it lies in the WebMercatorQuad pixel grid at zoom 24 (`map_x`, `map_y`:
/// 0 … 2³² from the top left; PROJ, through SpatiaLite, transforms the point), indexed with the
/// fields the map filters by, so that the map's clusters are a grouped read of one covering index
/// range (a cell at zoom z is `map_x >> k`) instead of a geometry per listing and request.
///
/// Kept by triggers on insert and move; a bulk import fills its new rows in one statement (``fill(_:fromFid:)``).
enum ListingPixels {
    static let insertTrigger = "listings_pixel_insert"
    /// Pixels at zoom 24: 256 × 2²⁴ = 2³² across the world.
    static let zoom = 24
    static let bits = ClusterQuery.pixelBits

    static func expressions(_ geom: String) -> (x: String, y: String) {
        let r = TileID.originMetres, scale = Double(UInt64(1) << UInt64(bits)) / (2 * r)
        let mercator = "ST_Transform(\(geom), 3857)"
        let x = "CAST(min(max((ST_X(\(mercator)) + \(r)) * \(scale), 0), 4294967295) AS INTEGER)"
        // Latitudes beyond the grid's ±85.05° are clamped to its edge.
        let y = "CAST(min(max((\(r) - ST_Y(ST_Transform(MakePoint(X(\(geom)), min(max(Y(\(geom)), -85.0511287798), 85.0511287798), 4326), 3857))) * \(scale), 0), 4294967295) AS INTEGER)"
        return (x, y)
    }

    /// Migration v9: the columns, the index and the triggers, every stored listing filled.
    static func create(_ db: Database) throws {
        try db.execute(sql: "ALTER TABLE listings ADD COLUMN map_x INTEGER; ALTER TABLE listings ADD COLUMN map_y INTEGER")
        try fill(db, fromFid: 0)
        try db.execute(sql: """
            CREATE INDEX listings_map ON listings(map_x, map_y, status, property_type, bedrooms, list_price, living_area_m2, year_built, list_date);
            \(triggers)
            """)
    }

    static var triggers: String {
        let (x, y) = expressions("NEW.geom")
        return """
            CREATE TRIGGER \(insertTrigger) AFTER INSERT ON listings WHEN NEW.geom IS NOT NULL BEGIN
                UPDATE listings SET map_x = \(x), map_y = \(y) WHERE fid = NEW.fid;
            END;
            CREATE TRIGGER listings_pixel_move AFTER UPDATE OF geom ON listings BEGIN
                UPDATE listings SET map_x = \(x), map_y = \(y) WHERE fid = NEW.fid;
            END;
            """
    }

    /// The listings from `fromFid` on, by batches: the points read, transformed by PROJ here (the same
    /// operation SpatiaLite's `ST_Transform` runs, without its lookup of the CRS per call, which made
    /// this a third of a bulk import), and the pixels written back by storage key.
    static func fill(_ db: Database, fromFid: Int64) throws {
        let mercator = try CRSTransform.to(.webMercator)
        let update = try db.makeStatement(sql: "UPDATE listings SET map_x = ?, map_y = ? WHERE fid = ?")
        var next = fromFid
        while true {
            let rows = try Row.fetchAll(db, sql: "SELECT fid, X(geom), Y(geom) FROM listings WHERE fid >= ? AND geom IS NOT NULL ORDER BY fid LIMIT 50000",
                                        arguments: [next])
            guard let last = rows.last else { return }
            let pixels = Self.pixels(lons: rows.map { $0[1] }, lats: rows.map { $0[2] }, mercator: mercator)
            for (row, pixel) in zip(rows, pixels) {
                try update.execute(arguments: [pixel.x, pixel.y, row[0] as Int64])
            }
            next = (last[0] as Int64) + 1
        }
    }

    /// The pixels of lon/lat positions, by PROJ's Web Mercator (`mercator`, from CRS84).
    static func pixels(lons: [Double], lats: [Double], mercator: CRSTransform) -> [(x: Int64, y: Int64)] {
        let r = TileID.originMetres, scale = Double(UInt64(1) << UInt64(bits)) / (2 * r)
        func pixel(_ metres: Double) -> Int64 { Int64(min(max(metres * scale, 0), 4_294_967_295)) }
        var xs = lons
        // Latitudes beyond the grid's ±85.05° are clamped to its edge, as in the triggers.
        var ys = lats.map { min(max($0, -85.0511287798), 85.0511287798) }
        mercator.transform(&xs, &ys)
        return zip(xs, ys).map { (pixel($0 + r), pixel(r - $1)) }
    }

    /// Listings whose stored pixel differs from their point's (`rgis check`).
    static func misplaced(_ db: Database) throws -> Int {
        let (x, y) = expressions("geom")
        return try Int.fetchOne(db, sql: "SELECT count(*) FROM listings WHERE geom IS NOT NULL AND (map_x IS NOT \(x) OR map_y IS NOT \(y))") ?? 0
    }
}
