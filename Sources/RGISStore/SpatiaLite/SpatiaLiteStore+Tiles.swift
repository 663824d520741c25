import Foundation
import GRDB
import RGISCore

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

    public func listingClusters(_ query: ClusterQuery) async throws -> [ListingCluster] {
        let filter = try query.filter.sql(alias: "t", layer: .listings)
        return try await read { db in
            let b = query.box
            let cursor = try db.rowCursor("""
                SELECT t.fid, ST_X(t.geom), ST_Y(t.geom), t.list_price FROM listings t
                WHERE \(SpatialSQL.candidates(.listings, boxes: [b])) AND ST_X(t.geom) BETWEEN \(b.west) AND \(b.east)
                  AND ST_Y(t.geom) BETWEEN \(b.south) AND \(b.north)\(filter)
                """)
            struct Cell { var count = 0, lon = 0.0, lat = 0.0, priceMin: Double?, priceMax: Double?, fid: Int64 = 0 }
            var cells: [Int64: Cell] = [:]
            let cell = Double(query.cellPixels)
            while let row = try cursor.next() {
                let p = Position(lon: row[1], lat: row[2])
                let pixel = TileID.pixel(p, zoom: query.zoom)
                let key = Int64(pixel.x / cell) << 32 | Int64(pixel.y / cell)
                var c = cells[key, default: Cell()]
                c.count += 1
                c.lon += p.lon
                c.lat += p.lat
                if let price = row[3] as Double? {
                    c.priceMin = min(c.priceMin ?? price, price)
                    c.priceMax = max(c.priceMax ?? price, price)
                }
                c.fid = row[0]
                cells[key] = c
            }
            let singles = cells.values.filter { $0.count == 1 }.map(\.fid)
            var ids: [Int64: String] = [:]
            for chunk in stride(from: 0, to: singles.count, by: 500) {
                let part = Array(singles[chunk..<min(chunk + 500, singles.count)])
                for row in try db.rows("SELECT fid, id FROM listings WHERE fid IN (\(SpatialSQL.list(part)))") { ids[row[0]] = row[1] }
            }
            return cells.sorted { $0.key < $1.key }.map { key, c in
                ListingCluster(column: Int(key >> 32), row: Int(key & 0xFFFF_FFFF), count: c.count,
                               position: Position(lon: c.lon / Double(c.count), lat: c.lat / Double(c.count)), priceMin: c.priceMin, priceMax: c.priceMax,
                               singleID: c.count == 1 ? ids[c.fid] : nil, singleFID: c.count == 1 ? c.fid : nil)
            }
        }
    }
}
