import Testing
import RGISTesting
import RGISCore

@Suite("Geometry")
struct GeometryTests {
    func polygon(_ ring: [(Double, Double)]) -> Geometry {
        .polygon([ring.map { Position(lon: $0.0, lat: $0.1) }])
    }

    @Test("an unclosed ring is refused, naming the ring")
    func unclosedRing() {
        let g = polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
        #expect(throws: RGISError.self) { try g.validate() }
        do { try g.validate() } catch let e as RGISError {
            #expect(e.reason.contains("exterior ring"))
        } catch {}
        let open = polygon([(0, 0), (1, 0), (1, 1), (0, 1), (0, 0.5)])
        do { try open.validate() } catch let e as RGISError {
            #expect(e.reason.contains("not closed"))
        } catch {}
    }

    @Test("latitude beyond 90 that fits as a longitude is reported as swapped")
    func swappedAxes() throws {
        let g = Geometry.point(Position(lon: 52.5, lat: 130.4))
        do {
            try g.validate()
            Issue.record("accepted")
        } catch let e as RGISError {
            #expect(e.code == .invalidValue)
            #expect(e.reason.contains("looks like (lat, lon)"))
        }
    }

    @Test("projected coordinates without --srid get a hint")
    func projectedHint() throws {
        do {
            try Geometry.point(Position(lon: 1_494_450, lat: 6_899_036)).validate()
            Issue.record("accepted")
        } catch let e as RGISError {
            #expect(e.reason.contains("--srid"))
        }
        // The same coordinates are fine in a projected CRS.
        try Geometry.point(Position(lon: 1_494_450, lat: 6_899_036)).validate(in: SRID(3857))
    }

    @Test("GeoJSON geometries read and write back the same")
    func geoJSONRoundTrip() throws {
        let text = #"{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[2,2],[3,2],[3,3],[2,2]]]]}"#
        let g = try Geometry(geoJSON: JSONValue.parse(Array(text.utf8)))
        #expect(g.kind == .multiPolygon)
        #expect(g.positions.count == 8)
        #expect(try Geometry(geoJSON: g.geoJSON) == g)
        #expect(g.geoJSON.jsonText.hasPrefix(#"{"coordinates":[[[[0,0],[1,0]"#))
    }

    @Test("a GeoJSON position with text is refused, naming its path")
    func badPosition() {
        let text = #"{"type":"LineString","coordinates":[[0,0],["a",1]]}"#
        do {
            _ = try Geometry(geoJSON: JSONValue.parse(Array(text.utf8)))
            Issue.record("accepted")
        } catch let e as RGISError {
            #expect(e.reason.contains("coordinates[1]"))
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test("WKT of every supported type reads, Z values dropped")
    func wkt() throws {
        #expect(try Geometry(wkt: "POINT (13.4 52.5)") == .point(Position(lon: 13.4, lat: 52.5)))
        #expect(try Geometry(wkt: "point z (1 2 3)") == .point(Position(lon: 1, lat: 2)))
        #expect(try Geometry(wkt: "MULTIPOINT ((1 2), (3 4))") == Geometry(wkt: "MULTIPOINT (1 2, 3 4)"))
        let poly = try Geometry(wkt: "POLYGON ((0 0, 1 0, 1 1, 0 0), (0.2 0.1, 0.3 0.1, 0.3 0.2, 0.2 0.1))")
        guard case .polygon(let rings) = poly else { Issue.record("not a polygon"); return }
        #expect(rings.count == 2)
        let multi = try Geometry(wkt: "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))")
        #expect(multi.kind == .multiPolygon)
        expectError(.malformedInput) { _ = try Geometry(wkt: "POLYGON ((0 0, 1 0") }
        expectError(.malformedInput) { _ = try Geometry(wkt: "CIRCLE (0 0, 1)") }
    }

    @Test("WKB of a point is the OGC little-endian layout")
    func wkbPoint() {
        let bytes = Geometry.point(Position(lon: 1, lat: 2)).wkb
        #expect(bytes.count == 21)
        #expect(Array(bytes.prefix(5)) == [1, 1, 0, 0, 0])
    }

    @Test("bbox parsing names the bad value, and minx > maxx crosses the antimeridian")
    func bbox() throws {
        expectError(.malformedInput) { _ = try BBox(parsing: "1,2,3") }
        expectError(.malformedInput) { _ = try BBox(parsing: "1,2,x,4") }
        expectError(.invalidValue) { _ = try BBox(parsing: "0,10,1,5") }
        expectError(.invalidValue) { _ = try BBox(parsing: "0,0,181,1") }
        let wrap = try BBox(parsing: "179,-1,-179,1")
        #expect(wrap.parts.count == 2)
    }
}
