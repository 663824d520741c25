/// Mapbox Vector Tiles 2.1 (github.com/mapbox/vector-tile-spec): the protocol buffer a tile is, written
/// by hand because only four small messages are involved and only encoding is needed.
///
/// Geometry arrives in tile coordinates (0…extent, y down) as SpatiaLite wrote it (WKB, see
/// ``TileGeometry/init(wkb:)``); here it is only rounded, cleaned of repeated points and degenerate
/// rings, wound as the spec requires (exterior rings clockwise on screen), and encoded as commands.
public struct VectorTile: Sendable {
    public static let extent = 4096

    public struct Feature: Sendable {
        public var id: UInt64?
        public var geometry: TileGeometry
        /// Strings, integers, reals and booleans; anything else is left out.
        public var properties: [(String, JSONValue)]

        public init(id: UInt64?, geometry: TileGeometry, properties: [(String, JSONValue)]) {
            self.id = id
            self.geometry = geometry
            self.properties = properties
        }
    }

    public struct Layer: Sendable {
        public var name: String
        public var features: [Feature]
        public init(name: String, features: [Feature]) {
            self.name = name
            self.features = features
        }
    }

    public var layers: [Layer]

    public init(layers: [Layer]) { self.layers = layers }

    public var isEmpty: Bool { layers.allSatisfy { $0.features.isEmpty } }

    /// The tile's bytes (`application/vnd.mapbox-vector-tile`).
    public func encoded() -> [UInt8] {
        var tile = ProtoWriter()
        for layer in layers where !layer.features.isEmpty {
            tile.message(3, Self.encode(layer))
        }
        return tile.bytes
    }

    static func encode(_ layer: Layer) -> [UInt8] {
        var keys: [String] = [], keyIndex: [String: Int] = [:]
        var values: [[UInt8]] = [], valueIndex: [[UInt8]: Int] = [:]
        var out = ProtoWriter()
        out.varint(15, 2)
        out.string(1, layer.name)
        for feature in layer.features {
            let commands = feature.geometry.commands()
            guard !commands.isEmpty else { continue }
            var tags: [UInt64] = []
            for (key, value) in feature.properties {
                guard let encodedValue = Self.value(value) else { continue }
                let k = keyIndex[key] ?? { keys.append(key); keyIndex[key] = keys.count - 1; return keys.count - 1 }()
                let v = valueIndex[encodedValue] ?? { values.append(encodedValue); valueIndex[encodedValue] = values.count - 1; return values.count - 1 }()
                tags += [UInt64(k), UInt64(v)]
            }
            var f = ProtoWriter()
            if let id = feature.id { f.varint(1, id) }
            if !tags.isEmpty { f.packed(2, tags) }
            f.varint(3, feature.geometry.typeCode)
            f.packed(4, commands.map(UInt64.init))
            out.message(2, f.bytes)
        }
        for key in keys { out.string(3, key) }
        for value in values { out.message(4, value) }
        out.varint(5, UInt64(extent))
        return out.bytes
    }

    /// A `Value` message: string 1, double 3, sint64 6, bool 7.
    static func value(_ v: JSONValue) -> [UInt8]? {
        var w = ProtoWriter()
        switch v {
        case .string(let s): w.string(1, s)
        case .int(let i): w.varint(6, ProtoWriter.zigzag(i))
        case .double(let d):
            if d.isFinite, d == d.rounded(), abs(d) < 9e15 { w.varint(6, ProtoWriter.zigzag(Int64(d))) } else if d.isFinite { w.double(3, d) } else { return nil }
        case .bool(let b): w.varint(7, b ? 1 : 0)
        default: return nil
        }
        return w.bytes
    }
}

/// A feature's shape in tile coordinates.
public enum TileGeometry: Sendable, Equatable {
    case points([TilePoint])
    /// Polygons, each its exterior ring then its holes; rings open (the first point not repeated).
    case polygons([[[TilePoint]]])

    var typeCode: UInt64 {
        switch self {
        case .points: 1
        case .polygons: 3
        }
    }

    /// MoveTo, LineTo and ClosePath commands with zig-zag deltas, exterior rings clockwise on screen
    /// (positive area with y down), holes the other way; rings of fewer than three points, or of no
    /// area, are dropped, and a polygon whose exterior is dropped goes with its holes.
    func commands() -> [UInt32] {
        var out: [UInt32] = []
        var cursor = TilePoint(x: 0, y: 0)
        func command(_ id: UInt32, _ count: Int) -> UInt32 { (id & 0x7) | (UInt32(count) << 3) }
        func delta(_ p: TilePoint) {
            out.append(UInt32(truncatingIfNeeded: ProtoWriter.zigzag(Int64(p.x - cursor.x))))
            out.append(UInt32(truncatingIfNeeded: ProtoWriter.zigzag(Int64(p.y - cursor.y))))
            cursor = p
        }
        switch self {
        case .points(let points):
            var seen = Set<TilePoint>()
            let distinct = points.filter { seen.insert($0).inserted }
            guard !distinct.isEmpty else { return [] }
            out.append(command(1, distinct.count))
            for p in distinct { delta(p) }
        case .polygons(let polygons):
            for rings in polygons {
                for (i, raw) in rings.enumerated() {
                    var ring = Self.cleaned(raw)
                    let area = Self.doubleArea(ring)
                    guard ring.count >= 3, area != 0 else {
                        if i == 0 { break } else { continue }
                    }
                    // Exterior: positive area in y-down tile coordinates; holes negative.
                    if (i == 0) != (area > 0) { ring.reverse() }
                    out.append(command(1, 1))
                    delta(ring[0])
                    out.append(command(2, ring.count - 1))
                    for p in ring.dropFirst() { delta(p) }
                    out.append(command(7, 1))
                }
            }
        }
        return out
    }

    /// Without consecutive repeats and without the closing point.
    static func cleaned(_ ring: [TilePoint]) -> [TilePoint] {
        var out: [TilePoint] = []
        for p in ring where out.last != p { out.append(p) }
        if out.count > 1, out.first == out.last { out.removeLast() }
        return out
    }

    /// Twice the signed area (shoelace), positive for a clockwise ring on screen (y down).
    static func doubleArea(_ ring: [TilePoint]) -> Int64 {
        guard ring.count >= 3 else { return 0 }
        var sum: Int64 = 0
        for i in ring.indices {
            let a = ring[i], b = ring[(i + 1) % ring.count]
            sum += Int64(a.x) * Int64(b.y) - Int64(b.x) * Int64(a.y)
        }
        return sum
    }

    /// Reads SpatiaLite's WKB (as `AsBinary` writes it) of points, polygons, their multi forms and
    /// collections of them, rounding coordinates to integers; lines are left out.
    public init?(wkb: [UInt8]) {
        var reader = WKBReader(bytes: wkb)
        var points: [TilePoint] = []
        var polygons: [[[TilePoint]]] = []
        guard (try? reader.geometry(points: &points, polygons: &polygons)) != nil else { return nil }
        if !polygons.isEmpty { self = .polygons(polygons) } else if !points.isEmpty { self = .points(points) } else { return nil }
    }
}

public struct TilePoint: Sendable, Hashable {
    public var x: Int32
    public var y: Int32
    public init(x: Int32, y: Int32) {
        self.x = x
        self.y = y
    }
}

/// Well-known binary, the subset a clipped tile geometry is made of.
struct WKBReader {
    struct Malformed: Error {}
    let bytes: [UInt8]
    var offset = 0
    var littleEndian = true

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func byte() throws -> UInt8 {
        guard offset < bytes.count else { throw Malformed() }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func uint32() throws -> UInt32 {
        guard offset + 4 <= bytes.count else { throw Malformed() }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[offset + i]) << (8 * (littleEndian ? i : 3 - i)) }
        offset += 4
        return v
    }

    mutating func double() throws -> Double {
        guard offset + 8 <= bytes.count else { throw Malformed() }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[offset + i]) << (8 * (littleEndian ? i : 7 - i)) }
        offset += 8
        return Double(bitPattern: v)
    }

    mutating func point() throws -> TilePoint {
        let x = try double(), y = try double()
        guard x.isFinite, y.isFinite, abs(x) < 1e9, abs(y) < 1e9 else { throw Malformed() }
        return TilePoint(x: Int32(x.rounded()), y: Int32(y.rounded()))
    }

    mutating func count() throws -> Int {
        let n = Int(try uint32())
        guard n <= bytes.count else { throw Malformed() }
        return n
    }

    mutating func geometry(points: inout [TilePoint], polygons: inout [[[TilePoint]]]) throws {
        littleEndian = try byte() == 1
        let type = try uint32() % 1000
        switch type {
        case 1: points.append(try point())
        case 2:
            for _ in 0..<(try count()) { _ = try point() }
        case 3:
            var rings: [[TilePoint]] = []
            for _ in 0..<(try count()) {
                var ring: [TilePoint] = []
                for _ in 0..<(try count()) { ring.append(try point()) }
                rings.append(ring)
            }
            if !rings.isEmpty { polygons.append(rings) }
        case 4, 5, 6, 7:
            for _ in 0..<(try count()) { try geometry(points: &points, polygons: &polygons) }
        default: throw Malformed()
        }
    }
}

/// Protocol buffer wire format: varints, length-delimited fields, packed repeated varints.
struct ProtoWriter {
    var bytes: [UInt8] = []

    static func zigzag(_ n: Int64) -> UInt64 { UInt64(bitPattern: (n << 1) ^ (n >> 63)) }

    mutating func rawVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func key(_ field: Int, _ wireType: UInt64) { rawVarint(UInt64(field) << 3 | wireType) }

    mutating func varint(_ field: Int, _ value: UInt64) {
        key(field, 0)
        rawVarint(value)
    }

    mutating func double(_ field: Int, _ value: Double) {
        key(field, 1)
        var bits = value.bitPattern
        for _ in 0..<8 {
            bytes.append(UInt8(bits & 0xFF))
            bits >>= 8
        }
    }

    mutating func message(_ field: Int, _ body: [UInt8]) {
        key(field, 2)
        rawVarint(UInt64(body.count))
        bytes += body
    }

    mutating func string(_ field: Int, _ text: String) { message(field, Array(text.utf8)) }

    mutating func packed(_ field: Int, _ values: [UInt64]) {
        var inner = ProtoWriter()
        for v in values { inner.rawVarint(v) }
        message(field, inner.bytes)
    }
}
