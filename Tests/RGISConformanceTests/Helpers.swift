import Foundation
import RGISBackends
import RGISCore
import RGISFiles
import RGISStore
import RGISTesting
import Testing

extension Store {
    /// Every layer of the demo city in `geodata/`, without its dated changes (what `Templates.demoCity` holds).
    func loadDemoLayers() async throws {
        for layer in Layer.allCases {
            _ = try await importFeatures(from: Fixtures.demo("\(layer.rawValue).geojson"), options: ImportOptions(layer: layer), progress: nil)
        }
    }

    /// How many features a layer holds, as ``StoreMaintenance/info()`` counts them.
    func count(_ layer: Layer) async throws -> Int {
        guard let info = try await info().layers.first(where: { $0.layer == layer }) else {
            throw RGISError(.notFound, "info() lists no layer \(layer)")
        }
        return info.count
    }

    /// A layer as ``StoreMaintenance/exportText(layer:bbox:format:write:)`` writes it, and the count it returns.
    func exportedText(_ layer: Layer, bbox: BBox? = nil, format: TextExportFormat) async throws -> (text: String, count: Int) {
        var text = ""
        let count = try await exportText(layer: layer, bbox: bbox, format: format) { text += $0 }
        return (text, count)
    }

    /// Every listing with its storage key, in storage order: bbox pages over the whole world.
    func allListings() async throws -> [StoredFeature] {
        var query = BBoxQuery(bbox: try BBox(west: -180, south: -90, east: 180, north: 90), limit: try Limit(Limit.maximum))
        var all: [StoredFeature] = []
        while true {
            let page = try await self.bbox(query)
            all += page.features
            guard let next = page.next else { return all }
            query.after = next
        }
    }

    /// The Features of a layer's GeoJSON export, in storage order.
    func exportedFeatures(_ layer: Layer, bbox: BBox? = nil) async throws -> [JSONValue] {
        let text = try await exportedText(layer, bbox: bbox, format: .geojson).text
        guard case .array(let features)? = try JSONValue.parse(Array(text.utf8))["features"] else {
            throw RGISError(.malformedInput, "the export of \(layer) holds no features array")
        }
        return features
    }
}

/// The demo city's layers stored once per backend and kept as a backup, which each test restores to a
/// location of its own: a fresh store, as `Templates.demoCity` copies a file for the store tests.
actor DemoCity {
    static let shared = DemoCity()
    private var backups: [String: Task<String, any Error>] = [:]
    private var directories: [TemporaryDirectory] = []

    func backup(_ backend: Backend) async throws -> String {
        if let made = backups[backend.name] { return try await made.value }
        let directory = try Fixtures.temporaryDirectory()
        directories.append(directory)
        let made = Task<String, any Error> {
            let store = try await backend.emptyStore(in: directory, "demo-template")
            try await store.loadDemoLayers()
            let path = directory.path("demo-city.backup")
            _ = try await store.backup(to: path, replacing: false)
            return path
        }
        backups[backend.name] = made
        return try await made.value
    }
}

extension Backend {
    /// A new store holding every layer of the demo city (no dated changes), at a location of its own.
    func demoCity(in directory: TemporaryDirectory, _ name: String = "demo") async throws -> any Store {
        let target = try location(directory, name)
        try await StoreLocation.restore(from: try await DemoCity.shared.backup(self), to: target, replacing: false)
        return try await StoreLocation.open(target)
    }
}

/// Reading the values the store gives back as the store tests read columns.
enum Values {
    /// A column's value as SQLite writes it as text (`CAST(x AS TEXT)`, `x || ''`): a real column's
    /// value with its fraction (`35.0`), an integer column's without, text as it is; nil for NULL.
    static func columnText(_ value: JSONValue?, _ layer: Layer, _ column: String) -> String? {
        guard let value, !value.isNull else { return nil }
        switch (layer.field(named: column)?.kind, value) {
        case (.real?, _): return value.number.map { "\($0)" }
        case (.integer?, _): return value.number.map { "\(Int64($0))" }
        case (_, .string(let s)): return s
        case (_, .int(let i)): return "\(i)"
        case (_, .double(let d)): return "\(d)"
        default:
            var out = ""
            value.write(to: &out)
            return out
        }
    }

    /// The `extra` of a stored feature: its properties that are not the layer's typed fields, as JSON text.
    static func extraText(_ properties: [String: JSONValue], _ layer: Layer) -> String {
        var out = ""
        JSONValue.object(properties.filter { layer.field(named: $0.key) == nil }).write(to: &out)
        return out
    }

    /// An event's old or new value as text, as `coalesce(old_value, '')` reads it.
    static func text(_ value: FieldValue?) -> String {
        switch value {
        case nil: ""
        case .text(let s)?: s
        case .integer(let i)?: "\(i)"
        case .real(let d)?: "\(d)"
        }
    }

    /// Numbers as doubles, everywhere in a value: an export writes a whole real as an integer.
    static func normalized(_ value: JSONValue) -> JSONValue {
        switch value {
        case .int(let i): .double(Double(i))
        case .array(let a): .array(a.map(normalized))
        case .object(let o): .object(o.mapValues(normalized))
        default: value
        }
    }
}

/// Plane geometry in lon/lat, to read exported shapes with.
enum Shapes {
    static func geometry(_ feature: JSONValue) throws -> Geometry {
        guard let geometry = feature["geometry"] else { throw RGISError(.malformedInput, "a feature without geometry") }
        return try Geometry(geoJSON: geometry)
    }

    /// The position of a point Feature (exported).
    static func point(_ feature: JSONValue) throws -> Position {
        guard case .point(let p) = try geometry(feature) else { throw RGISError(.invalidValue, "a feature that is not a point") }
        return p
    }

    /// The position of a stored point feature.
    static func point(_ feature: StoredFeature) throws -> Position {
        guard case .point(let p) = try Geometry(geoJSON: JSONValue.parse(Array(feature.geometryGeoJSON.utf8))) else {
            throw RGISError(.invalidValue, "feature \(feature.id) is not a point")
        }
        return p
    }

    /// The polygons of a Polygon or MultiPolygon (none for other types).
    static func polygons(_ geometry: Geometry) -> [[[Position]]] {
        switch geometry {
        case .polygon(let rings): [rings]
        case .multiPolygon(let polygons): polygons
        default: []
        }
    }

    /// Twice the signed area of a ring in lon/lat: positive when counter-clockwise.
    static func signedArea(_ ring: [Position]) -> Double {
        zip(ring, ring.dropFirst()).reduce(0) { $0 + ($1.0.lon * $1.1.lat - $1.1.lon * $1.0.lat) }
    }

    /// Whether every polygon's exterior ring is counter-clockwise and its holes clockwise (RFC 7946).
    static func isCounterClockwise(_ geometry: Geometry) -> Bool {
        polygons(geometry).allSatisfy { rings in
            signedArea(rings[0]) > 0 && rings.dropFirst().allSatisfy { signedArea($0) < 0 }
        }
    }

    /// The plane centroid in lon/lat (a point's own position; polygons weighted by area, holes taken out),
    /// as `ST_Centroid` computes it.
    static func centroid(_ geometry: Geometry) -> Position? {
        if case .point(let p) = geometry { return p }
        var weight = 0.0, lon = 0.0, lat = 0.0
        for rings in polygons(geometry) {
            for (i, ring) in rings.enumerated() {
                guard let origin = ring.first else { continue }
                // Relative to the ring's first vertex, so that degrees far from zero keep their precision.
                var a = 0.0, x = 0.0, y = 0.0
                for (p, q) in zip(ring, ring.dropFirst()) {
                    let (px, py, qx, qy) = (p.lon - origin.lon, p.lat - origin.lat, q.lon - origin.lon, q.lat - origin.lat)
                    let cross = px * qy - qx * py
                    a += cross
                    x += (px + qx) * cross
                    y += (py + qy) * cross
                }
                guard a != 0 else { continue }
                let area = abs(a) / 2 * (i == 0 ? 1 : -1)
                weight += area
                lon += area * (x / (3 * a) + origin.lon)
                lat += area * (y / (3 * a) + origin.lat)
            }
        }
        return weight == 0 ? nil : Position(lon: lon / weight, lat: lat / weight)
    }

    /// Whether a point lies inside a Polygon or MultiPolygon (inside an exterior ring, outside its holes).
    static func contains(_ geometry: Geometry, _ point: Position) -> Bool {
        func inside(_ ring: [Position]) -> Bool {
            var inside = false
            for (p, q) in zip(ring, ring.dropFirst()) where (p.lat > point.lat) != (q.lat > point.lat) {
                if point.lon < (q.lon - p.lon) * (point.lat - p.lat) / (q.lat - p.lat) + p.lon { inside.toggle() }
            }
            return inside
        }
        return polygons(geometry).contains { rings in inside(rings[0]) && !rings.dropFirst().contains(where: inside) }
    }

    /// Every coordinate of a GeoJSON geometry, in order.
    static func coordinates(_ geometry: JSONValue?) -> [Double] {
        var out: [Double] = []
        func walk(_ v: JSONValue) {
            switch v {
            case .array(let a): a.forEach(walk)
            case .int(let i): out.append(Double(i))
            case .double(let d): out.append(d)
            default: break
            }
        }
        if let coordinates = geometry?["coordinates"] { walk(coordinates) }
        return out
    }
}

extension DeliveryOutbox {
    /// ``DeliveryOutbox/claimDue(now:worker:limit:leaseSeconds:)`` for tests that queue saved-search
    /// notifications only: each message as its ``Delivery``; a message of another kind fails the test.
    func claimDueSearches(now: Date, worker: String, limit: Int, leaseSeconds: Double) async throws -> [Delivery] {
        try await claimDue(now: now, worker: worker, limit: limit, leaseSeconds: leaseSeconds).map { message in
            guard let delivery = message.search else { throw RGISError(.invalidValue, "claimed \(message), not a saved search's notification") }
            return delivery
        }
    }

    func recordSent(_ delivery: Delivery, now: Date) async throws {
        try await recordSent(.search(delivery), now: now)
    }

    @discardableResult
    func recordFailure(_ delivery: Delivery, error: String, retryAt: Date?, disable: DeliveryDisable?, now: Date) async throws -> Date? {
        try await recordFailure(.search(delivery), error: error, retryAt: retryAt, disable: disable, now: now)
    }
}
