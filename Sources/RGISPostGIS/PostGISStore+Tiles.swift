import PostgresNIO
import RGISCore
import RGISStore

/// Vector tile contents and listing clusters in PostGIS: a polygon layer's candidates through the GiST
/// index, transformed to EPSG:3857, simplified to a tile unit, clipped to the buffered tile and scaled
/// to tile coordinates by PostGIS (PROJ and GEOS, as SpatiaLite runs them); listings at their stored
/// zoom-24 pixel (`map_x`, `map_y`), with no transform per row and request. The tile itself is encoded
/// by the Core encoder, as on SpatiaLite, so both backends serve the same bytes.
extension PostGISStore {
    public func tileFeatures(_ query: TileQuery) async throws -> [TileFeature] {
        guard query.layer != .demands else { throw RGISError(.notFound, "client demand is not served as tiles", at: "collectionId") }
        if query.layer != .listings, !query.filter.isEmpty {
            throw RGISError(.invalidValue, "listing filters apply to the listings layer only, not \(query.layer.rawValue)", at: "parameter layer")
        }
        try query.filter.validate()
        let columns = TileQuery.columns(query.layer)
        let selected = columns.map { "t.\($0)" }.joined(separator: ", ")
        let tile = query.tile
        if query.layer == .listings {
            // Points inside the tile itself (as a bbox query over its bounds tests them), at their pixel.
            var q = SQLText("SELECT t.fid, t.id, t.map_x, t.map_y, \(selected) FROM listings t WHERE ")
            q.intersectsAny([tile.bounds()])
            try query.filter.append(to: &q, layer: .listings)
            q.sql(" ORDER BY t.fid")
            let span = Double(UInt64(1) << UInt64(ClusterQuery.pixelBits - tile.zoom))
            let x0 = Double(tile.column) * span, y0 = Double(tile.row) * span
            let unit = Double(VectorTile.extent) / span
            let rows = try await rows(q)
            return try translating {
                try rows.map { row in
                    let x = Double(try row[2].decode(Int64.self)), y = Double(try row[3].decode(Int64.self))
                    let point = TilePoint(x: Int32(((x - x0) * unit).rounded(.down)), y: Int32(((y - y0) * unit).rounded(.down)))
                    return TileFeature(fid: try row[0].decode(Int64.self), id: try row[1].decode(String.self), geometry: .points([point]),
                                       properties: try Self.tileProperties(row, from: 4, layer: .listings))
                }
            }
        }
        let metres = tile.boundsMetres(buffer: TileQuery.buffer)
        let west = tile.boundsMetres().west, north = tile.boundsMetres().north
        let scale = Double(VectorTile.extent) / tile.sideMetres
        let unit = query.simplifyUnits * tile.sideMetres / Double(VectorTile.extent)
        var q = SQLText("SELECT t.fid, t.id, ST_AsBinary(ST_Scale(ST_Translate(ST_Intersection(ST_SimplifyPreserveTopology(ST_Transform(t.geom, 3857), ")
        q.bind(unit)
        q.sql("), ST_MakeEnvelope(")
        q.bind(metres.west)
        q.sql(", ")
        q.bind(metres.south)
        q.sql(", ")
        q.bind(metres.east)
        q.sql(", ")
        q.bind(metres.north)
        q.sql(", 3857)), ")
        q.bind(-west)
        q.sql(", ")
        q.bind(-north)
        q.sql("), ")
        q.bind(scale)
        q.sql(", ")
        q.bind(-scale)
        q.sql(")), \(selected) FROM \(query.layer.table) t WHERE t.geom && ")
        // Candidates by the buffered tile's box in degrees (the index's box test; the clip decides).
        q.bindEnvelope(tile.bounds(buffer: TileQuery.buffer))
        q.sql(" ORDER BY t.fid")
        let rows = try await rows(q)
        return try translating {
            try rows.compactMap { row -> TileFeature? in
                guard let wkb = try row[2].decode(ByteBuffer?.self), let geometry = TileGeometry(wkb: Array(buffer: wkb)) else { return nil }
                return TileFeature(fid: try row[0].decode(Int64.self), id: try row[1].decode(String.self), geometry: geometry,
                                   properties: try Self.tileProperties(row, from: 3, layer: query.layer))
            }
        }
    }

    /// `id` and the tile's columns of a layer (``TileQuery/columns(_:)``) from `first` on, nulls left out.
    static func tileProperties(_ row: PostgresRandomAccessRow, from first: Int, layer: Layer) throws -> [(String, JSONValue)] {
        var properties: [(String, JSONValue)] = [("id", .string(try row[1].decode(String.self)))]
        for (i, name) in TileQuery.columns(layer).enumerated() {
            let cell = row[first + i]
            let value: JSONValue?
            switch layer.fields.first(where: { $0.name == name })?.kind {
            case .integer: value = try cell.decode(Int64?.self).map(JSONValue.int)
            case .real: value = try cell.decode(Double?.self).map(JSONValue.double)
            default: value = try cell.decode(String?.self).map(JSONValue.string)
            }
            if let value { properties.append((name, value)) }
        }
        return properties
    }

    /// The listings inside the box (exactly: `ST_Intersects` with it, as a bbox query tests them),
    /// grouped by cell of their stored pixels in one statement over the GiST index, in cell order.
    public func listingClusters(_ query: ClusterQuery) async throws -> [ListingCluster] {
        try query.filter.validate()
        let shift = query.pixelShift
        var q = SQLText("""
            SELECT t.map_x >> \(shift), t.map_y >> \(shift), count(*), sum(t.map_x)::float8, sum(t.map_y)::float8,
                min(t.list_price), max(t.list_price), max(t.fid), min(t.id COLLATE "C")
            FROM listings t WHERE\u{20}
            """)
        q.intersectsAny([query.box])
        try query.filter.append(to: &q, layer: .listings)
        q.sql(" GROUP BY 1, 2 ORDER BY 1, 2")
        let rows = try await rows(q)
        return try translating {
            try rows.map { row in
                let count = Int(try row[2].decode(Int64.self))
                let single = count == 1
                return ListingCluster(column: Int(try row[0].decode(Int64.self)), row: Int(try row[1].decode(Int64.self)), count: count,
                                      position: ListingCluster.meanPosition(sumX: try row[3].decode(Double.self), sumY: try row[4].decode(Double.self), count: count),
                                      priceMin: try row[5].decode(Double?.self), priceMax: try row[6].decode(Double?.self),
                                      singleID: single ? try row[8].decode(String.self) : nil, singleFID: single ? try row[7].decode(Int64.self) : nil)
            }
        }
    }
}
