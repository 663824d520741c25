import Foundation
import GRDB
import RGISCore
import RGISFiles
import RGISSpatiaLite
import RGISStore
import RGISTesting
import Testing

/// The map cells (`listing_cells`) on real listings: clusters read from them equal those read from
/// the listings, for tiles and for arbitrary views, and the counts follow every kind of write.
@Suite("Map cells")
struct ListingCellsTests {
    /// Berlin's listings and London's cycle-hire stations (as listings), with statuses and types
    /// spread over them by storage key so that the filters have something to tell apart.
    static func database(_ dir: TemporaryDirectory) throws -> RGISDatabase {
        let db = try dir.database()
        try db.loadShared("berlin-prenzlauer/listings.geojson", into: .listings, map: "price=list_price")
        try db.loadShared("london/cycle_hire.geojson", into: .listings)
        try db.writeTransaction { db in
            try db.execute(sql: """
                UPDATE listings SET status = CASE fid % 4 WHEN 0 THEN 'active' WHEN 1 THEN 'closed' WHEN 2 THEN 'active' ELSE 'pending' END,
                    property_type = CASE fid % 3 WHEN 0 THEN 'apartment' WHEN 1 THEN 'house' ELSE 'office' END,
                    list_price = CASE WHEN list_price IS NULL AND fid % 5 <> 0 THEN 1000 * fid ELSE list_price END
                """)
        }
        return db
    }

    static let filters: [ListingFilter] = {
        var active = ListingFilter()
        active.statuses = [.active]
        var typed = ListingFilter()
        typed.propertyTypes = [.apartment, .office]
        var both = active
        both.propertyTypes = [.house]
        return [ListingFilter(), active, typed, both]
    }()

    /// Tiles around both cities from zoom 6 to 14, and views of random size and place.
    static func queries() throws -> [ClusterQuery] {
        var queries: [ClusterQuery] = []
        var random = SplitMix(seed: 7)
        for (lon, lat, spanDegrees) in [(13.42, 52.54, 0.08), (-0.12, 51.51, 0.25)] {
            for zoom in 6...14 {
                let pixel = TileID.pixel(Position(lon: lon, lat: lat), zoom: zoom)
                let tile = try TileID(zoom: zoom, row: Int(pixel.y / 256), column: Int(pixel.x / 256))
                for filter in filters { queries.append(try ClusterQuery(box: tile.bounds(), zoom: zoom, cellPixels: 32, filter: filter)) }
            }
            for i in 0..<60 {
                let w = spanDegrees * random.unit(), h = spanDegrees * 0.6 * random.unit()
                let west = lon - spanDegrees / 2 + random.unit() * spanDegrees, south = lat - spanDegrees / 3 + random.unit() * spanDegrees * 0.6
                let box = BBox.Part(west: west, south: south, east: west + w, north: south + h)
                queries.append(try ClusterQuery(box: box, zoom: 8 + i % 8, cellPixels: [16, 32, 64, 128, 256][i % 5], filter: filters[i % filters.count]))
            }
        }
        return queries
    }

    func expectSameClusters(_ store: SpatiaLiteStore, _ queries: [ClusterQuery], _ stage: String) async throws {
        var compared = 0
        for q in queries {
            let cells = try await store.listingClusters(q)
            let rows = try await store.listingClustersFromRows(q)
            #expect(cells == rows, "\(stage): \(q.box) zoom \(q.zoom) cell \(q.cellPixels) \(q.filter)")
            compared += rows.reduce(0) { $0 + $1.count }
        }
        #expect(compared > 10_000, "\(stage): the queries hold listings")
    }

    @Test("clusters from the cells equal those from the listings, before and after moves, price and status changes, deletions and inserts")
    func cellsFollowWrites() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try Self.database(dir)
        let store = SpatiaLiteStore(db)
        #expect(try db.check().isEmpty)
        let queries = try Self.queries()
        try await expectSameClusters(store, queries, "imported")

        try db.writeTransaction { db in
            // Moves within Berlin, across to London, and a listing losing its place on the map.
            try db.execute(sql: "UPDATE listings SET geom = MakePoint(X(geom) + 0.003, Y(geom) - 0.002, 4326) WHERE fid % 7 = 0")
            try db.execute(sql: "UPDATE listings SET geom = MakePoint(-0.1 + (fid % 50) * 0.001, 51.5, 4326) WHERE fid % 97 = 1")
            // Each cell's cheapest and dearest listing becomes dearer, cheaper or unpriced.
            try db.execute(sql: """
                UPDATE listings SET list_price = CASE fid % 3 WHEN 0 THEN list_price * 3 WHEN 1 THEN list_price / 4 ELSE NULL END
                WHERE fid IN (SELECT fid_max FROM listing_cells WHERE level = 17) OR list_price IN (SELECT price_min FROM listing_cells WHERE level = 15)
                """)
            try db.execute(sql: "UPDATE listings SET status = 'withdrawn' WHERE fid % 11 = 3")
            try db.execute(sql: "UPDATE listings SET property_type = 'house' WHERE fid % 13 = 5")
            try db.execute(sql: "DELETE FROM listings WHERE fid % 17 = 2 OR fid IN (SELECT fid_max FROM listing_cells WHERE level = 12)")
            try db.execute(sql: """
                INSERT INTO listings (id, status, property_type, list_price, geom)
                SELECT 'new-' || fid, 'active', 'apartment', 250000 + fid, MakePoint(X(geom) + 0.0001, Y(geom) + 0.0001, 4326) FROM listings WHERE fid % 19 = 4
                """)
        }
        let problems = try db.check()
        #expect(problems.isEmpty, "\(problems)")
        try await expectSameClusters(store, queries, "after writes")

        // A listing on a tile's very edge belongs to the tiles on both sides, as a bbox query says.
        let tile = try TileID(zoom: 12, row: 1343, column: 2200)
        let edge = tile.bounds()
        try db.writeTransaction { db in
            try db.execute(sql: "INSERT INTO listings (id, status, list_price, geom) VALUES ('on-the-edge', 'active', 1, MakePoint(?, ?, 4326))",
                           arguments: [edge.west, (edge.south + edge.north) / 2])
        }
        for column in [tile.column - 1, tile.column] {
            let q = try ClusterQuery(box: try TileID(zoom: 12, row: tile.row, column: column).bounds(), zoom: 12, cellPixels: 32, filter: ListingFilter())
            let cells = try await store.listingClusters(q)
            #expect(cells == (try await store.listingClustersFromRows(q)))
        }
        let last = try db.check()
        #expect(last.isEmpty, "\(last)")
    }
}

extension ListingCellsTests {
    @Test("a bulk import's cells, counted as its rows are written, equal the rows grouped afresh; an import into stored cells adds to them")
    func bulkImportCountsCells() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        // Listings sharing cells at every level with different statuses and types; without a price,
        // a type or a status of their own; on the grid's edges (beyond ±85.05° is clamped to them).
        var features: [String] = []
        for i in 0..<400 {
            let lon = 13.40 + Double(i % 20) * 0.0004, lat = 52.52 + Double(i / 20) * 0.0003
            let status = ["active", "pending", "closed"][i % 3]
            let type = i % 5 == 0 ? "" : #", "property_type": "\#(["apartment", "house"][i % 2])""#
            let price = i % 7 == 0 ? "" : #", "list_price": \#(100_000 + (i * 7_919) % 400_000)"#
            features.append(#"{"type": "Feature", "properties": {"id": "c\#(i)", "status": "\#(status)"\#(type)\#(price)}, "geometry": {"type": "Point", "coordinates": [\#(lon), \#(lat)]}}"#)
        }
        for (i, (lon, lat)) in [(-180.0, 89.9), (180.0, -89.9), (0.0, 0.0), (179.9999, 85.06)].enumerated() {
            features.append(#"{"type": "Feature", "properties": {"id": "edge\#(i)", "list_price": 5}, "geometry": {"type": "Point", "coordinates": [\#(lon), \#(lat)]}}"#)
        }
        func collection(_ items: ArraySlice<String>) -> String { #"{"type": "FeatureCollection", "features": [\#(items.joined(separator: ",\n"))]}"# }
        let first = try dir.write("first.geojson", collection(features[..<250]))
        let second = try dir.write("second.geojson", collection(features[250...]))

        let imported = try db.importFeatures(from: first, options: ImportOptions(layer: .listings))
        #expect(imported.inserted == 250)
        #expect(try db.check().isEmpty)
        let after = try db.importFeatures(from: second, options: ImportOptions(layer: .listings))
        #expect(after.inserted == features.count - 250)
        let problems = try db.check()
        #expect(problems.isEmpty, "\(problems)")
        let counted = try db.read { db in
            try Int.fetchOne(db, sql: "SELECT sum(n) FROM listing_cells WHERE level = 2") ?? 0
        }
        #expect(counted == features.count)
    }
}

/// A small seeded generator, so that the views are the same on every run.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
