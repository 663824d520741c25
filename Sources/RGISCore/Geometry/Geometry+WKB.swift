extension Geometry {
    /// OGC Well-Known Binary, little-endian, 2D: the form SpatiaLite's `GeomFromWKB` reads.
    public var wkb: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(9 + positions.count * 16 + 64)
        append(to: &out)
        return out
    }

    private func append(to out: inout [UInt8]) {
        func header(_ type: UInt32) {
            out.append(1)
            appendUInt32(type, to: &out)
        }
        func points(_ ps: [Position]) {
            appendUInt32(UInt32(ps.count), to: &out)
            for p in ps {
                appendDouble(p.lon, to: &out)
                appendDouble(p.lat, to: &out)
            }
        }
        func rings(_ rs: [[Position]]) {
            appendUInt32(UInt32(rs.count), to: &out)
            for r in rs { points(r) }
        }
        switch self {
        case .point(let p):
            header(1)
            appendDouble(p.lon, to: &out)
            appendDouble(p.lat, to: &out)
        case .lineString(let ps):
            header(2)
            points(ps)
        case .polygon(let rs):
            header(3)
            rings(rs)
        case .multiPoint(let ps):
            header(4)
            appendUInt32(UInt32(ps.count), to: &out)
            for p in ps { Geometry.point(p).append(to: &out) }
        case .multiLineString(let lines):
            header(5)
            appendUInt32(UInt32(lines.count), to: &out)
            for l in lines { Geometry.lineString(l).append(to: &out) }
        case .multiPolygon(let polys):
            header(6)
            appendUInt32(UInt32(polys.count), to: &out)
            for p in polys { Geometry.polygon(p).append(to: &out) }
        }
    }
}

private func appendUInt32(_ v: UInt32, to out: inout [UInt8]) {
    withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
}

private func appendDouble(_ v: Double, to out: inout [UInt8]) {
    withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) }
}
