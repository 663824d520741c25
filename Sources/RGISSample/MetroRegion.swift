import Foundation
import RGISCore

/// A large synthetic metro region for benchmarks, written straight to GeoJSON files feature by
/// feature (a million demands never sit in memory): ~100 districts on three levels, parcels with
/// buildings, listings and client demands with search areas (circles and polygons, 200 m – 5 km).
///
/// Density is skewed like a real region: 70 % of everything falls in a dense core (a normal spread of
/// 4 km around the centre), the rest evenly over 60 × 50 km. Price per m² falls with distance from the
/// centre and varies by district. The same seed writes the same bytes.
public struct MetroRegion: Sendable {
    public struct Options: Sendable {
        public var seed: UInt64 = 42
        public var listings = 1_000_000
        public var demands = 1_000_000
        /// Parcels, each with one building.
        public var parcels = 200_000
        public init() {}
    }

    public let options: Options
    static let centre = Position(lon: 9.0, lat: 48.0)
    static let widthMetres = 60_000.0, heightMetres = 50_000.0
    static let metresPerDegreeLat = 111_320.0
    static var metresPerDegreeLon: Double { metresPerDegreeLat * cos(centre.lat * .pi / 180) }
    /// 4 × 3 districts, each 4 × 2 subdistricts: 1 + 12 + 96 = 109 districts.
    static let districtColumns = 4, districtRows = 3, subColumns = 4, subRows = 2

    public init(options: Options) {
        self.options = options
    }

    /// Writes districts, parcels, buildings, listings and demands as `<layer>.geojson` in `directory`,
    /// calling `progress` with the layer and the features written so far.
    public func write(to directory: String, progress: @escaping (Layer, Int) -> Void = { _, _ in }) throws -> [(Layer, String, Int)] {
        var random = SplitMix64(seed: options.seed)
        var written: [(Layer, String, Int)] = []
        func layer(_ layer: Layer, _ count: Int, _ body: (inout FeatureWriter, inout SplitMix64) throws -> Void) throws {
            let path = (directory as NSString).appendingPathComponent("\(layer.rawValue).geojson")
            var writer = try FeatureWriter(path: path) { progress(layer, $0) }
            try body(&writer, &random)
            try writer.close()
            written.append((layer, path, writer.count))
        }
        try layer(.districts, 109) { out, _ in
            out.polygon(id: "city", ring: Self.rectangle(0, 0, Self.widthMetres, Self.heightMetres),
                        properties: #""name":"Metro","level":"city""#)
            for d in 0..<(Self.districtColumns * Self.districtRows) {
                let (x0, y0, x1, y1) = Self.districtBox(d)
                out.polygon(id: "D\(d + 1)", ring: Self.rectangle(x0, y0, x1, y1),
                            properties: #""name":"District \#(d + 1)","level":"district","parent_id":"city""#)
                let sw = (x1 - x0) / Double(Self.subColumns), sh = (y1 - y0) / Double(Self.subRows)
                for s in 0..<(Self.subColumns * Self.subRows) {
                    let sx = x0 + Double(s % Self.subColumns) * sw, sy = y0 + Double(s / Self.subColumns) * sh
                    out.polygon(id: "D\(d + 1)-\(s + 1)", ring: Self.rectangle(sx, sy, sx + sw, sy + sh),
                                properties: #""name":"Subdistrict \#(d + 1)-\#(s + 1)","level":"subdistrict","parent_id":"D\#(d + 1)""#)
                }
            }
        }
        // Parcels 20–45 m on a side with a building inside each.
        var parcelCentres: [(Double, Double)] = []
        parcelCentres.reserveCapacity(options.parcels)
        try layer(.parcels, options.parcels) { out, random in
            for n in 1...max(options.parcels, 1) where options.parcels > 0 {
                let (x, y) = Self.place(&random)
                let w = random.uniform(20...45), h = random.uniform(20...45)
                parcelCentres.append((x, y))
                out.polygon(id: "P\(n)", ring: Self.rectangle(x - w / 2, y - h / 2, x + w / 2, y + h / 2),
                            properties: #""land_use":"\#(random.chance(0.8) ? "residential" : "commercial")","area_m2":\#(Int(w * h))"#)
            }
        }
        try layer(.buildings, options.parcels) { out, random in
            for (n, (x, y)) in parcelCentres.enumerated() {
                let w = random.uniform(10...18), h = random.uniform(10...18)
                let floors = Self.isCore(x, y) ? random.int(3...8) : random.int(1...3)
                out.polygon(id: "B\(n + 1)", ring: Self.rectangle(x - w / 2, y - h / 2, x + w / 2, y + h / 2),
                            properties: #""parcel_id":"P\#(n + 1)","use":"residential","floors":\#(floors),"units":\#(floors * random.int(1...6)),"year_built":\#(random.int(1900...2025))"#)
            }
        }
        let types = ["apartment", "apartment", "apartment", "house", "townhouse"]
        let statuses = ["active", "active", "active", "active", "active", "active", "pending", "closed", "withdrawn"]
        try layer(.listings, options.listings) { out, random in
            for n in 1...max(options.listings, 1) where options.listings > 0 {
                let (x, y) = Self.place(&random)
                let type = random.pick(types)
                let area = type == "apartment" ? random.uniform(28...140) : random.uniform(85...220)
                let price = (area * Self.pricePerM2(x, y) * random.uniform(0.85...1.15) / 1000).rounded() * 1000
                let status = random.pick(statuses)
                let month = random.int(1...11), day = random.int(1...28)
                var properties = #""status":"\#(status)","property_type":"\#(type)","list_price":\#(Int(price)),"living_area_m2":\#(Int(area)),"bedrooms":\#(max(0, Int(area / 32) - 1)),"list_date":"2026-\#(Self.two(month))-\#(Self.two(day))","agent":"agent-\#(Self.two(1 + n % 40))""#
                if status == "closed" { properties += #","close_date":"2026-\#(Self.two(min(11, month + 1)))-\#(Self.two(day))","close_price":\#(Int(price * 0.97))"# }
                out.point(id: "L\(n)", x: x, y: y, properties: properties)
            }
        }
        try layer(.demands, options.demands) { out, random in
            for n in 1...max(options.demands, 1) where options.demands > 0 {
                let (x, y) = Self.place(&random)
                let type = random.pick(types)
                let area = type == "apartment" ? random.uniform(35...110) : random.uniform(90...170)
                let budget = (area * Self.pricePerM2(x, y) * random.uniform(0.8...1.25) / 1000).rounded() * 1000
                // Search radius log-uniform from 200 m to 5 km: most clients search near one place.
                let r = 200 * pow(25, random.unit())
                let ring: [(Double, Double)]
                if random.chance(0.7) {
                    ring = (0..<24).map { i in
                        let a = Double(i) / 24 * 2 * .pi
                        return (x + r * cos(a), y + r * sin(a))
                    }
                } else {
                    let corners = random.int(4...7)
                    ring = (0..<corners).map { i in
                        let a = (Double(i) + random.uniform(-0.3...0.3)) / Double(corners) * 2 * .pi
                        let d = r * random.uniform(0.6...1.0)
                        return (x + d * cos(a), y + d * sin(a))
                    }
                }
                let properties = #""client_id":"C\#(1 + (n - 1) * 2 / 3)","agent":"agent-\#(Self.two(1 + n % 40))","status":"\#(random.chance(0.85) ? "active" : "paused")","budget_min":\#(Int(budget * 0.6)),"budget_max":\#(Int(budget)),"bedrooms_min":\#(max(0, Int(area / 30) - 1)),"property_types":"\#(type)","area_min_m2":\#(Int(area * 0.8)),"area_max_m2":\#(Int(area * 1.3)),"created_at":"2026-\#(Self.two(random.int(1...11)))-\#(Self.two(random.int(1...28)))""#
                out.polygon(id: "R\(n)", ring: ring + [ring[0]], properties: properties)
            }
        }
        return written
    }

    // MARK: Layout

    static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    static func districtBox(_ d: Int) -> (Double, Double, Double, Double) {
        let w = widthMetres / Double(districtColumns), h = heightMetres / Double(districtRows)
        let x0 = Double(d % districtColumns) * w, y0 = Double(d / districtColumns) * h
        return (x0, y0, x0 + w, y0 + h)
    }

    /// A point in metres from the south-west corner: 70 % in the core, the rest anywhere.
    static func place(_ random: inout SplitMix64) -> (Double, Double) {
        if random.chance(0.7) {
            let x = widthMetres / 2 + random.normal() * 4000, y = heightMetres / 2 + random.normal() * 4000
            return (min(max(x, 50), widthMetres - 50), min(max(y, 50), heightMetres - 50))
        }
        return (random.uniform(50...(widthMetres - 50)), random.uniform(50...(heightMetres - 50)))
    }

    static func isCore(_ x: Double, _ y: Double) -> Bool {
        hypot(x - widthMetres / 2, y - heightMetres / 2) < 6000
    }

    /// € per m²: 9,000 in the centre falling to about 2,500 at the edge, times a district factor.
    static func pricePerM2(_ x: Double, _ y: Double) -> Double {
        let d = hypot(x - widthMetres / 2, y - heightMetres / 2) / 30_000
        let column = min(districtColumns - 1, Int(x / (widthMetres / Double(districtColumns))))
        let row = min(districtRows - 1, Int(y / (heightMetres / Double(districtRows))))
        let factor = [1.0, 1.15, 0.9, 1.25, 0.85, 1.1, 0.95, 1.2, 1.05, 0.8, 1.3, 1.0][(row * districtColumns + column) % 12]
        return (2500 + 6500 * max(0, 1 - d)) * factor
    }

    static func rectangle(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double) -> [(Double, Double)] {
        [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    }
}

/// Writes one FeatureCollection, a feature per line, with coordinates in metres from the region's
/// south-west corner turned into degrees with 7 decimals (about 1 cm).
struct FeatureWriter {
    private let handle: FileHandle
    private var buffer = ""
    private(set) var count = 0
    private let progress: (Int) -> Void

    init(path: String, progress: @escaping (Int) -> Void) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw RGISError(.io, "cannot be written", at: path)
        }
        self.handle = handle
        self.progress = progress
        buffer = #"{"type":"FeatureCollection","features":["#
        buffer.reserveCapacity(1 << 21)
    }

    private static let west = MetroRegion.centre.lon - MetroRegion.widthMetres / 2 / MetroRegion.metresPerDegreeLon
    private static let south = MetroRegion.centre.lat - MetroRegion.heightMetres / 2 / MetroRegion.metresPerDegreeLat

    /// Degrees with 7 decimals, by integer arithmetic (formatting a float is the slow part of writing GeoJSON).
    private mutating func coordinate(_ degrees: Double) {
        let scaled = Int((degrees * 1e7).rounded())
        let whole = scaled / 10_000_000, fraction = abs(scaled % 10_000_000)
        if scaled < 0 && whole == 0 { buffer += "-" }
        buffer += String(whole)
        buffer += "."
        let digits = String(fraction)
        buffer += String(repeating: "0", count: 7 - digits.count) + digits
    }

    private mutating func position(_ x: Double, _ y: Double) {
        buffer += "["
        coordinate(Self.west + x / MetroRegion.metresPerDegreeLon)
        buffer += ","
        coordinate(Self.south + y / MetroRegion.metresPerDegreeLat)
        buffer += "]"
    }

    private mutating func begin(_ id: String) {
        buffer += count == 0 ? "\n" : ",\n"
        buffer += #"{"type":"Feature","id":""# + id + #"","geometry":"#
    }

    private mutating func end(_ properties: String) {
        buffer += #","properties":{"# + properties + "}}"
        count += 1
        if buffer.utf8.count > 1 << 20 { flush() }
    }

    mutating func point(id: String, x: Double, y: Double, properties: String) {
        begin(id)
        buffer += #"{"type":"Point","coordinates":"#
        position(x, y)
        buffer += "}"
        end(properties)
    }

    /// A polygon from a closed ring, counter-clockwise (RFC 7946).
    mutating func polygon(id: String, ring: [(Double, Double)], properties: String) {
        begin(id)
        var area = 0.0
        for i in 0..<(ring.count - 1) { area += ring[i].0 * ring[i + 1].1 - ring[i + 1].0 * ring[i].1 }
        let ordered = area < 0 ? Array(ring.reversed()) : ring
        buffer += #"{"type":"Polygon","coordinates":[["#
        for (i, p) in ordered.enumerated() {
            if i > 0 { buffer += "," }
            position(p.0, p.1)
        }
        buffer += "]]}"
        end(properties)
    }

    private mutating func flush() {
        handle.write(Data(buffer.utf8))
        buffer.removeAll(keepingCapacity: true)
        progress(count)
    }

    mutating func close() throws {
        buffer += "\n]}\n"
        flush()
        try handle.close()
    }
}
