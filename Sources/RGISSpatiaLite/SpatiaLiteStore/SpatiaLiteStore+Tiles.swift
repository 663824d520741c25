import Foundation
import GRDB
import RGISCore
import RGISStore

/// Vector tile contents and listing clusters. SpatiaLite (PROJ and GEOS) transforms each candidate to
/// EPSG:3857, simplifies it to a tile unit, clips it to the buffered tile and scales it to tile
/// coordinates; the candidates come from the layer's R*Tree.
extension SpatiaLiteStore {
    public func tileFeatures(_ query: TileQuery) async throws -> [TileFeature] {
        guard query.layer != .demands else { throw RGISError(.notFound, "client demand is not served as tiles", at: "collectionId") }
        let layerFilter: SQL = query.layer == .listings ? try query.filter.sql(alias: "t", layer: .listings) : ""
        if query.layer != .listings, !query.filter.isEmpty {
            throw RGISError(.invalidValue, "listing filters apply to the listings layer only, not \(query.layer.rawValue)", at: "parameter layer")
        }
        if query.layer == .listings { return try await listingTileFeatures(query.tile, filter: layerFilter) }
        return try await read { db in
            let tile = query.tile
            let box = tile.boundsMetres(buffer: TileQuery.buffer)
            let west = tile.boundsMetres().west, north = tile.boundsMetres().north
            let scale = Double(VectorTile.extent) / tile.sideMetres
            let unit = query.simplifyUnits * tile.sideMetres / Double(VectorTile.extent)
            let columns = TileQuery.columns(query.layer)
            let selected = SQL(sql: columns.map { "t.\($0)" }.joined(separator: ", "))
            // Points are kept inside the tile itself, so that a tile holds exactly what a bbox query over its bounds
            // returns; polygons meeting the buffer are clipped to it, so that outlines cross tile edges cleanly.
            let points = query.layer.storedGeometry == .point
            let area = tile.bounds(buffer: points ? 0 : TileQuery.buffer)
            let candidates: SQL = points
                ? "\(SpatialSQL.candidates(query.layer, boxes: [area])) AND \(SpatialSQL.intersectsAny([area]))"
                : SpatialSQL.candidates(query.layer, boxes: [area])
            let projected: SQL = points
                ? "ST_Transform(t.geom, 3857)"
                : "ST_Intersection(ST_SimplifyPreserveTopology(ST_Transform(t.geom, 3857), \(unit)), BuildMbr(\(box.west), \(box.south), \(box.east), \(box.north), 3857))"
            let rows = try db.rows("""
                SELECT t.fid, t.id, AsBinary(ScaleCoords(ShiftCoords(\(projected), \(-west), \(-north)), \(scale), \(-scale))) AS g, \(selected)
                FROM \(sql: query.layer.table) t
                WHERE \(candidates)\(layerFilter)
                ORDER BY t.fid
                """)
            return rows.compactMap { row -> TileFeature? in
                guard let blob = row["g"] as Data?, let geometry = TileGeometry(wkb: Array(blob)) else { return nil }
                var properties: [(String, JSONValue)] = [("id", .string(row[1]))]
                for (i, name) in columns.enumerated() {
                    switch row[3 + i] as DatabaseValue {
                    case let v where v.isNull: continue
                    case let v: if let json = Self.json(v) { properties.append((name, json)) }
                    }
                }
                return TileFeature(fid: row[0], id: row[1], geometry: geometry, properties: properties)
            }
        }
    }

    static func json(_ value: DatabaseValue) -> JSONValue? {
        switch value.storage {
        case .int64(let i): .int(i)
        case .double(let d): .double(d)
        case .string(let s): .string(s)
        default: nil
        }
    }

    /// A box in the listings' zoom-24 pixels: the interior (two pixels or more inside each edge, so
    /// surely inside) read from the index alone, and the edge bands whose listings are tested on their
    /// points, so that together they hold exactly what a bbox query over the box returns.
    struct PixelBox {
        let interior: SQL
        let edges: SQL

        init(_ b: BBox.Part) {
            let nw = TileID.pixel(Position(lon: b.west, lat: b.north), zoom: ListingPixels.zoom)
            let se = TileID.pixel(Position(lon: b.east, lat: b.south), zoom: ListingPixels.zoom)
            let x0 = Int64(nw.x.rounded(.down)), x1 = Int64(se.x.rounded(.down)), y0 = Int64(nw.y.rounded(.down)), y1 = Int64(se.y.rounded(.down))
            interior = "t.map_x > \(x0) AND t.map_x < \(x1 - 1) AND t.map_y > \(y0) AND t.map_y < \(y1 - 1)"
            edges = """
                t.map_x BETWEEN \(x0 - 1) AND \(x1 + 1) AND t.map_y BETWEEN \(y0 - 1) AND \(y1 + 1)
                AND NOT (t.map_x > \(x0) AND t.map_x < \(x1 - 1) AND t.map_y > \(y0) AND t.map_y < \(y1 - 1))
                AND ST_X(t.geom) BETWEEN \(b.west) AND \(b.east) AND ST_Y(t.geom) BETWEEN \(b.south) AND \(b.north)
                """
        }
    }

    /// A listings tile from zoom 15: each listing at its stored pixel, no transform per row.
    func listingTileFeatures(_ tile: TileID, filter: SQL) async throws -> [TileFeature] {
        try await read { db in
            let box = PixelBox(tile.bounds())
            let span = Double(UInt64(1) << UInt64(ListingPixels.bits - tile.zoom))
            let x0 = Double(tile.column) * span, y0 = Double(tile.row) * span
            let unit = Double(VectorTile.extent) / span
            let columns = TileQuery.columns(.listings)
            let selected = SQL(sql: columns.map { "t.\($0)" }.joined(separator: ", "))
            var features: [TileFeature] = []
            for part in [box.interior, box.edges] {
                for row in try db.rows("SELECT t.fid, t.id, t.map_x, t.map_y, \(selected) FROM listings t INDEXED BY listings_map WHERE \(part)\(filter)") {
                    let x: Int64 = row[2], y: Int64 = row[3]
                    var properties: [(String, JSONValue)] = [("id", .string(row[1]))]
                    for (i, name) in columns.enumerated() {
                        if let json = Self.json(row[4 + i] as DatabaseValue) { properties.append((name, json)) }
                    }
                    let point = TilePoint(x: Int32(((Double(x) - x0) * unit).rounded(.down)), y: Int32(((Double(y) - y0) * unit).rounded(.down)))
                    features.append(TileFeature(fid: row[0], id: row[1], geometry: .points([point]), properties: properties))
                }
            }
            return features.sorted { $0.fid < $1.fid }
        }
    }

    /// The clusters from the listings themselves: one grouped read of the pixel index over the box.
    /// What ``listingClusters(_:)`` answers with filters the map cells do not count by, and the
    /// reference the cells are tested against.
    public func listingClustersFromRows(_ query: ClusterQuery) async throws -> [ListingCluster] {
        let filter = try query.filter.sql(alias: "t", layer: .listings)
        return try await read { db in
            var reader = CellReader(db: db, box: query.box, clusterShift: query.pixelShift, filter: filter)
            try reader.readAllListings()
            return try reader.clusters()
        }
    }
}
