extension Geometry {
    /// The most vertices one geometry may have: more is refused before GEOS spends minutes on it
    /// (a district or parcel has thousands at most; simplify a coastline first).
    public static let maxVertices = 500_000

    /// Checks the rules a file can break before SpatiaLite sees the geometry: finite numbers, enough
    /// positions, closed rings, and for WGS84 longitude and latitude within range (with a hint when they
    /// look swapped or projected). Self-intersection is checked by GEOS in the store.
    public func validate(in srid: SRID = .wgs84) throws {
        let positions = self.positions
        guard positions.count <= Self.maxVertices else {
            throw RGISError(.invalidValue, "geometry has \(positions.count) vertices; at most \(Self.maxVertices) are taken (simplify it first, e.g. ogr2ogr -simplify)")
        }
        for p in positions {
            guard p.lon.isFinite, p.lat.isFinite else {
                throw RGISError(.invalidValue, "coordinate (\(p.lon), \(p.lat)) is not a finite number")
            }
        }
        if srid.isGeographicWGS84 { try Self.checkRange(positions) }
        switch self {
        case .point, .multiPoint: break
        case .lineString(let ps): try Self.checkLine(ps, index: nil)
        case .multiLineString(let ls):
            if ls.isEmpty { throw RGISError(.invalidValue, "MultiLineString has no lines") }
            for (i, l) in ls.enumerated() { try Self.checkLine(l, index: i) }
        case .polygon(let rings): try Self.checkPolygon(rings, index: nil)
        case .multiPolygon(let polygons):
            if polygons.isEmpty { throw RGISError(.invalidValue, "MultiPolygon has no polygons") }
            for (i, rings) in polygons.enumerated() { try Self.checkPolygon(rings, index: i) }
        }
        if case .multiPoint(let ps) = self, ps.isEmpty {
            throw RGISError(.invalidValue, "MultiPoint has no points")
        }
    }

    private static func checkRange(_ positions: [Position]) throws {
        for p in positions where !(-180...180).contains(p.lon) || !(-90...90).contains(p.lat) {
            let hint: String
            if (-90...90).contains(p.lon) && (-180...180).contains(p.lat) {
                hint = "; it looks like (lat, lon): GeoJSON and RGIS take longitude first"
            } else if abs(p.lon) > 360 || abs(p.lat) > 360 {
                hint = "; it looks like projected coordinates: pass --srid with the source CRS"
            } else {
                hint = ""
            }
            throw RGISError(
                .invalidValue,
                "coordinate (\(p.lon), \(p.lat)) is outside lon -180…180 / lat -90…90\(hint)"
            )
        }
    }

    private static func checkLine(_ ps: [Position], index: Int?) throws {
        if ps.count < 2 {
            throw RGISError(.invalidValue, "line\(index.map { " \($0)" } ?? "") has \(ps.count) position(s); at least 2 are needed")
        }
    }

    private static func checkPolygon(_ rings: [[Position]], index: Int?) throws {
        let polygon = index.map { "polygon \($0) " } ?? ""
        if rings.isEmpty { throw RGISError(.invalidValue, "\(polygon)has no rings") }
        for (r, ring) in rings.enumerated() {
            let name = "\(polygon)\(r == 0 ? "exterior ring" : "ring \(r) (a hole)")"
            if ring.count < 4 {
                throw RGISError(.invalidValue, "\(name) has \(ring.count) positions; a ring needs at least 4 with the first repeated last")
            }
            if ring.first != ring.last {
                throw RGISError(.invalidValue, "\(name) is not closed: first position (\(ring[0].lon), \(ring[0].lat)) differs from last (\(ring[ring.count - 1].lon), \(ring[ring.count - 1].lat))")
            }
        }
    }
}
