import Foundation
import Testing
@testable import RGISCore

@Suite("Vector tiles")
struct VectorTileTests {
    func p(_ x: Int32, _ y: Int32) -> TilePoint { TilePoint(x: x, y: y) }

    @Test("commands follow the MVT 2.1 examples: a point, a polygon, zig-zag deltas")
    func specExamples() {
        #expect(TileGeometry.points([p(25, 17)]).commands() == [9, 50, 34], "spec 4.3.5.1")
        #expect(TileGeometry.points([p(5, 7), p(3, 2)]).commands() == [17, 10, 14, 3, 9], "spec 4.3.5.2")
        #expect(TileGeometry.polygons([[[p(3, 6), p(8, 12), p(20, 34), p(3, 6)]]]).commands() == [9, 6, 12, 18, 10, 12, 24, 44, 15], "spec 4.3.5.6")
        #expect(ProtoWriter.zigzag(-1) == 1 && ProtoWriter.zigzag(1) == 2 && ProtoWriter.zigzag(-2) == 3)
    }

    @Test("exterior rings are wound clockwise on screen and holes the other way; repeats and flat rings go")
    func winding() throws {
        let anticlockwise = [p(0, 0), p(0, 10), p(10, 10), p(10, 0), p(0, 0)]
        let hole = [p(2, 2), p(4, 2), p(4, 4), p(2, 4), p(2, 2)]
        let commands = TileGeometry.polygons([[anticlockwise, hole]]).commands()
        // Decode back and check the signs of the rings' areas.
        var rings: [[TilePoint]] = []
        var i = 0, cursor = p(0, 0)
        func zz(_ u: UInt32) -> Int32 { Int32(bitPattern: (u >> 1)) ^ -Int32(bitPattern: u & 1) }
        while i < commands.count {
            let id = commands[i] & 7, count = Int(commands[i] >> 3)
            i += 1
            if id == 7 { continue }
            for _ in 0..<count {
                cursor = p(cursor.x + zz(commands[i]), cursor.y + zz(commands[i + 1]))
                i += 2
                if id == 1 { rings.append([cursor]) } else { rings[rings.count - 1].append(cursor) }
            }
        }
        try #require(rings.count == 2)
        #expect(TileGeometry.doubleArea(rings[0]) > 0 && TileGeometry.doubleArea(rings[1]) < 0)
        #expect(TileGeometry.polygons([[[p(0, 0), p(5, 5), p(10, 10), p(0, 0)]]]).commands().isEmpty, "a ring of no area is dropped")
        #expect(TileGeometry.polygons([[[p(1, 1), p(1, 1), p(4, 1), p(4, 4), p(1, 1)]]]).commands().count == 1 + 2 + 1 + 4 + 1, "the repeat goes")
    }

    @Test("SpatiaLite's WKB of points, polygons and collections reads back rounded, lines left out")
    func wkb() throws {
        let square: Geometry = .polygon([[Position(lon: 0.4, lat: 0.6), Position(lon: 10.2, lat: 0), Position(lon: 10, lat: 9.7), Position(lon: 0.4, lat: 0.6)]])
        #expect(TileGeometry(wkb: square.wkb) == .polygons([[[p(0, 1), p(10, 0), p(10, 10), p(0, 1)]]]))
        let multi: Geometry = .multiPolygon([[[Position(lon: 0, lat: 0), Position(lon: 1, lat: 0), Position(lon: 1, lat: 1), Position(lon: 0, lat: 0)]],
                                             [[Position(lon: 5, lat: 5), Position(lon: 6, lat: 5), Position(lon: 6, lat: 6), Position(lon: 5, lat: 5)]]])
        guard case .polygons(let parts)? = TileGeometry(wkb: multi.wkb) else { Issue.record("not polygons"); return }
        #expect(parts.count == 2)
        #expect(TileGeometry(wkb: Geometry.point(Position(lon: 3.5, lat: 4.4)).wkb) == .points([p(4, 4)]))
        #expect(TileGeometry(wkb: Geometry.lineString([Position(lon: 0, lat: 0), Position(lon: 1, lat: 1)]).wkb) == nil)
        #expect(TileGeometry(wkb: [1, 3, 0, 0]) == nil, "truncated")
    }

    @Test("a tile is a Tile message of layers with version 2, extent 4096, shared keys and values")
    func encoding() {
        let tile = VectorTile(layers: [.init(name: "listings", features: [
            .init(id: 7, geometry: .points([p(1, 2)]), properties: [("count", .int(3)), ("id", .string("L1"))]),
            .init(id: 8, geometry: .points([p(3, 4)]), properties: [("count", .int(3)), ("price", .double(2.5))]),
        ])])
        let bytes = tile.encoded()
        #expect(bytes.first == 0x1A, "field 3, length-delimited")
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("listings") && text.contains("count") && text.contains("L1"))
        #expect(bytes.count < 120)
        #expect(VectorTile(layers: [.init(name: "x", features: [])]).isEmpty)
    }

    @Test("WebMercatorQuad: tile numbers are checked, bounds and pixels follow the set's definition")
    func tileMatrixSet() throws {
        let world = try TileID(zoom: 0, row: 0, column: 0).bounds()
        #expect(abs(world.west + 180) < 1e-9 && abs(world.north - 85.0511287798) < 1e-9)
        let t = try TileID(zoom: 12, row: 1421, column: 2150)
        let b = t.bounds()
        #expect(abs(b.west - (2150.0 / 4096 * 360 - 180)) < 1e-9 && b.south < b.north)
        let corner = TileID.pixel(Position(lon: b.west, lat: b.north), zoom: 12)
        #expect(abs(corner.x - 2150 * 256) < 1e-6 && abs(corner.y - 1421 * 256) < 1e-6)
        for (z, r, c, field) in [(23, 0, 0, "tileMatrix"), (3, 8, 0, "tileRow"), (3, 0, -1, "tileCol")] {
            let error = try #require(throws: RGISError.self) { try TileID(zoom: z, row: r, column: c) }
            #expect(error.location == field)
        }
    }
}
