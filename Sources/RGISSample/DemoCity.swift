import Foundation
import RGISCore

/// A generated but coherent demo city: districts on three levels, a street grid of parcels with
/// buildings, listings inside the buildings priced by district, and clients whose demands search areas
/// of the city. Deterministic for a seed; fictional (it is placed on open ground for the map's sake).
///
/// Positions are laid out in metres on a local grid and converted to lon/lat around ``origin``.
public struct DemoCity: Sendable {
    public struct Options: Sendable {
        public var seed: UInt64 = 42
        public var origin = Position(lon: 9.0, lat: 48.0)
        /// City size in metres, west–east and south–north.
        public var widthMetres = 8000.0
        public var heightMetres = 6000.0
        public var blockMetres = 250.0
        public var clients = 600
        public init() {}
    }

    public let options: Options
    public private(set) var districts: [JSONValue] = []
    public private(set) var parcels: [JSONValue] = []
    public private(set) var buildings: [JSONValue] = []
    public private(set) var listings: [JSONValue] = []
    public private(set) var demands: [JSONValue] = []

    /// The layers in import order, with the features of each.
    public var layers: [(Layer, [JSONValue])] {
        [(.districts, districts), (.parcels, parcels), (.buildings, buildings), (.listings, listings), (.demands, demands)]
    }

    static let districtNames = ["Altstadt", "Nordhafen", "Weinberg", "Südpark", "Lindenau", "Ostend"]
    static let quarterSuffixes = ["Nord", "Süd", "West", "Ost"]
    static let streetNames = ["Lindenweg", "Hafenstraße", "Marktgasse", "Parkallee", "Bergstraße", "Mühlweg",
                              "Schulstraße", "Gartenweg", "Ringstraße", "Brunnenplatz"]

    public init(options: Options = Options()) {
        self.options = options
        var random = SplitMix64(seed: options.seed)
        build(&random)
    }

    // MARK: - Layout

    private var metresPerDegreeLat: Double { 111_320 }
    private var metresPerDegreeLon: Double { 111_320 * cos(options.origin.lat * .pi / 180) }

    /// Local metres (x east, y north, from the city's south-west corner) to lon/lat, rounded to 1e-7°.
    private func position(_ x: Double, _ y: Double) -> Position {
        func round7(_ v: Double) -> Double { (v * 1e7).rounded() / 1e7 }
        return Position(lon: round7(options.origin.lon + x / metresPerDegreeLon),
                        lat: round7(options.origin.lat + y / metresPerDegreeLat))
    }

    /// A counter-clockwise rectangle (RFC 7946's right-hand rule).
    private func rectangle(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double) -> Geometry {
        let ring = [position(x0, y0), position(x1, y0), position(x1, y1), position(x0, y1), position(x0, y0)]
        return .polygon([ring])
    }

    private func feature(_ id: String, _ geometry: Geometry, _ properties: [String: JSONValue]) -> JSONValue {
        .object(["type": .string("Feature"), "id": .string(id), "geometry": geometry.geoJSON, "properties": .object(properties)])
    }

    /// 0 at the centre, 1 at the far corner: the city is dense and dear in the middle.
    private func remoteness(_ x: Double, _ y: Double) -> Double {
        let dx = (x - options.widthMetres / 2) / (options.widthMetres / 2)
        let dy = (y - options.heightMetres / 2) / (options.heightMetres / 2)
        return min(1, (dx * dx + dy * dy).squareRoot() / 2.0.squareRoot())
    }

    private struct Quarter {
        let id: String
        let x0, y0, x1, y1: Double
        let pricePerM2: Double
        let geometry: Geometry
    }

    private mutating func build(_ random: inout SplitMix64) {
        let w = options.widthMetres, h = options.heightMetres
        districts.append(feature("city", rectangle(0, 0, w, h), ["name": .string("Demo City"), "level": .string("city")]))

        // 3 × 2 districts, each split into 4 subdistricts ("quarters").
        var quarters: [Quarter] = []
        for row in 0..<2 {
            for col in 0..<3 {
                let index = row * 3 + col
                let dx0 = Double(col) * w / 3, dx1 = Double(col + 1) * w / 3
                let dy0 = Double(row) * h / 2, dy1 = Double(row + 1) * h / 2
                let districtID = "D\(index + 1)"
                districts.append(feature(districtID, rectangle(dx0, dy0, dx1, dy1), [
                    "name": .string(Self.districtNames[index]), "level": .string("district"), "parent_id": .string("city"),
                ]))
                for q in 0..<4 {
                    let qx0 = q % 2 == 0 ? dx0 : (dx0 + dx1) / 2, qx1 = q % 2 == 0 ? (dx0 + dx1) / 2 : dx1
                    let qy0 = q < 2 ? (dy0 + dy1) / 2 : dy0, qy1 = q < 2 ? dy1 : (dy0 + dy1) / 2
                    let quarterID = "\(districtID)-\(q + 1)"
                    let centre = remoteness((qx0 + qx1) / 2, (qy0 + qy1) / 2)
                    let price = (9000 - 5500 * centre) * random.uniform(0.9...1.1)
                    let geometry = rectangle(qx0, qy0, qx1, qy1)
                    quarters.append(Quarter(id: quarterID, x0: qx0, y0: qy0, x1: qx1, y1: qy1, pricePerM2: price, geometry: geometry))
                    let name = "\(Self.districtNames[index]) \(Self.quarterSuffixes[q])"
                    districts.append(feature(quarterID, geometry, [
                        "name": .string(name), "level": .string("subdistrict"), "parent_id": .string(districtID),
                    ]))
                }
            }
        }
        func quarter(at x: Double, _ y: Double) -> Quarter {
            quarters.first { x >= $0.x0 && x < $0.x1 && y >= $0.y0 && y < $0.y1 } ?? quarters[0]
        }

        // Blocks of blockMetres with 20 m streets; each block holds two parcels side by side.
        let street = 20.0
        let block = options.blockMetres
        var listingNumber = 0
        for by in 0..<Int(h / block) {
            for bx in 0..<Int(w / block) {
                let x0 = Double(bx) * block + street / 2, y0 = Double(by) * block + street / 2
                let x1 = x0 + block - street, y1 = y0 + block - street
                let mid = (x0 + x1) / 2
                for half in 0..<2 {
                    let px0 = half == 0 ? x0 : mid, px1 = half == 0 ? mid : x1
                    let parcelID = "P-\(bx)-\(by)-\(half)"
                    let r = remoteness((px0 + px1) / 2, (y0 + y1) / 2)
                    let q = quarter(at: (px0 + px1) / 2, (y0 + y1) / 2)
                    let landUse = r < 0.35 ? "mixed" : random.chance(0.85) ? "residential" : "commercial"
                    parcels.append(feature(parcelID, rectangle(px0, y0, px1, y1), [
                        "cadastral_number": .string(String(format: "%03d/%03d-%d", bx, by, half)),
                        "land_use": .string(landUse),
                        "zoning": .string(r < 0.35 ? "MU-\(r < 0.2 ? 5 : 4)" : "R-\(r < 0.7 ? 3 : 2)"),
                        "valid_from": .string("2010-01-01"),
                    ]))
                    guard random.chance(0.85) else { continue }
                    // A building set back from the parcel's edges; taller in the centre.
                    let inset = random.uniform(8...18)
                    let bx0 = px0 + inset, bx1 = px1 - inset, by0 = y0 + inset, by1 = y1 - random.uniform(8...60)
                    let floors = max(1, Int((8 - 6.5 * r + random.normal()).rounded()))
                    let buildingID = "B-\(bx)-\(by)-\(half)"
                    let footprint = (bx1 - bx0) * (by1 - by0)
                    let units = landUse == "commercial" ? 0 : max(1, Int(footprint * Double(floors) / 90))
                    let yearBuilt = r < 0.3 ? random.int(1880...1960) : random.int(1950...2024)
                    buildings.append(feature(buildingID, rectangle(bx0, by0, bx1, by1), [
                        "parcel_id": .string(parcelID),
                        "use": .string(landUse == "commercial" ? "office" : "residential"),
                        "floors": .int(Int64(floors)),
                        "height_m": .double((Double(floors) * 3.1 * 10).rounded() / 10),
                        "year_built": .int(Int64(yearBuilt)),
                        "units": .int(Int64(units)),
                    ]))
                    // Listings: a share of the units is on the market, more in the dense centre.
                    let onMarket = min(units, Int((Double(units) * random.uniform(0.001...0.004) * (1.4 - r)).rounded()))
                    for _ in 0..<onMarket {
                        listingNumber += 1
                        listings.append(listing(number: listingNumber, random: &random, x: random.uniform((bx0 + 1)...(bx1 - 1)), y: random.uniform((by0 + 1)...(by1 - 1)),
                                                remoteness: r, quarter: q, buildingID: buildingID, parcelID: parcelID, yearBuilt: yearBuilt))
                    }
                }
            }
        }

        // Clients and what they want: a circle around a place they care about, or a quarter.
        let ageBands = ["18-29", "30-44", "45-59", "60+"]
        let households = ["single", "couple", "family", "shared"]
        let incomeBands = ["low", "middle", "upper_middle", "high"]
        let stages = ["initial_contact", "viewing", "negotiation", "purchase", "after_sale"]
        var demandNumber = 0
        for c in 1...options.clients {
            let clientID = String(format: "C%04d", c)
            let agent = String(format: "agent-%02d", random.int(1...12))
            let household = random.pick(households)
            let income = random.int(0...3)
            let count = random.chance(0.3) ? 2 : 1
            for _ in 0..<count {
                demandNumber += 1
                let wantsHouse = household == "family" && random.chance(0.5)
                let types = wantsHouse ? "house,townhouse" : random.chance(0.2) ? "apartment,townhouse" : "apartment"
                let area = wantsHouse ? random.uniform(90...170) : random.uniform(35...110)
                let bedrooms = max(0, Int(area / 30) - 1)
                var properties: [String: JSONValue] = [
                    "client_id": .string(clientID), "agent": .string(agent),
                    "status": .string(random.chance(0.85) ? "active" : random.pick(["paused", "fulfilled"])),
                    "bedrooms_min": .int(Int64(bedrooms)),
                    "property_types": .string(types),
                    "area_min_m2": .double((area * 0.8).rounded()), "area_max_m2": .double((area * 1.3).rounded()),
                    "created_at": .string(String(format: "2025-%02d-%02d", random.int(1...12), random.int(1...28))),
                    "age_band": .string(random.pick(ageBands)), "household": .string(household),
                    "income_band": .string(incomeBands[income]), "lifecycle_stage": .string(random.pick(stages)),
                ]
                let geometry: Geometry
                let pricePerM2: Double
                if random.chance(0.6) {
                    let x = random.uniform(0...w), y = random.uniform(0...h)
                    geometry = .point(position(x, y))
                    properties["radius_m"] = .double((random.uniform(300...3000) / 50).rounded() * 50)
                    pricePerM2 = quarter(at: x, y).pricePerM2
                } else {
                    let q = random.pick(quarters)
                    geometry = q.geometry
                    pricePerM2 = q.pricePerM2
                }
                let budget = area * pricePerM2 * random.uniform(0.8...1.25) * (0.85 + 0.1 * Double(income))
                properties["budget_max"] = .double((budget / 1000).rounded() * 1000)
                properties["budget_min"] = .double((budget * 0.6 / 1000).rounded() * 1000)
                demands.append(feature(String(format: "R%05d", demandNumber), geometry, properties))
            }
        }
    }

    private func listing(number: Int, random: inout SplitMix64, x: Double, y: Double, remoteness r: Double,
                         quarter: Quarter, buildingID: String, parcelID: String, yearBuilt: Int) -> JSONValue {
        let type: PropertyType = r > 0.6 && random.chance(0.5) ? (random.chance(0.6) ? .house : .townhouse) : .apartment
        let area = type == .apartment ? random.uniform(28...140) : random.uniform(85...220)
        let bedrooms = max(0, Int((area / 32).rounded()) - 1)
        let price = area * quarter.pricePerM2 * random.uniform(0.85...1.15)
        let roll = random.unit()
        let status: ListingStatus = roll < 0.68 ? .active : roll < 0.78 ? .pending : roll < 0.93 ? .closed : .withdrawn
        // The first draft of status and dates: still drawn, so that every later listing keeps its place,
        // price and size; what is written comes from ``marketLife``.
        let listYear = status == .closed || status == .withdrawn || random.chance(0.2) ? 2025 : 2026
        // Most stock is recent: months nearer November are likelier (the product of two uniforms).
        let month = listYear == 2026 ? max(1, 11 - Int(random.unit() * random.unit() * 11)) : random.int(1...12)
        let listDate = String(format: "%d-%02d-%02d", listYear, month, random.int(1...(month == 11 && listYear == 2026 ? 20 : 28)))
        var properties: [String: JSONValue] = [
            "status": .string(status.rawValue),
            "property_type": .string(type.rawValue),
            "list_price": .double((price / 1000).rounded() * 1000),
            "living_area_m2": .double((area * 10).rounded() / 10),
            "bedrooms": .int(Int64(bedrooms)),
            "bathrooms": .double(area > 110 ? 2 : 1),
            "year_built": .int(Int64(yearBuilt)),
            "address": .string("\(Self.streetNames[number % Self.streetNames.count]) \(1 + number % 97)"),
            "building_id": .string(buildingID),
            "parcel_id": .string(parcelID),
            "list_date": .string(listDate),
            "agent": .string(String(format: "agent-%02d", 1 + number % 12)),
            "district": .string(quarter.id),
        ]
        if status == .closed {
            // Drawn and set aside: the draws keep every later listing where it was.
            _ = (random.int(1...11), random.int(1...28), random.uniform(0.93...1.02))
        }
        // Its life on the market, from a generator of its own (``marketLife``).
        let life = Self.marketLife(number: number, seed: options.seed, district: String(quarter.id.prefix(2)))
        properties["status"] = .string(life.status.rawValue)
        properties["list_date"] = .string(life.listDate)
        if let closed = life.closeDate {
            var own = SplitMix64(seed: options.seed &+ 0xC105E &+ UInt64(number))
            properties["close_date"] = .string(closed)
            properties["close_price"] = .double((price * own.uniform(0.93...1.02) / 1000).rounded() * 1000)
        }
        return feature(String(format: "L%05d", number), .point(position(x, y)), properties)
    }

    /// The first day listings are put on the market; the history runs to ``historyEnds``.
    static let marketOpens = ISODate(parsing: "2024-09-01")!

    /// A listing's life on the market to ``historyEnds``: listed on a day of the two years and a
    /// quarter before it, sold after a time drawn around a district's typical days to sale, sometimes
    /// withdrawn first. Two districts drift from November 2025: in D1 (Altstadt) listings sell ever
    /// faster (from about 150 days to 25: a shortage), in D6 (Ostend) ever slower (to about 1,000: an
    /// oversupply); elsewhere about 150 days.
    static func marketLife(number: Int, seed: UInt64, district: String) -> (status: ListingStatus, listDate: String, closeDate: String?) {
        var random = SplitMix64(seed: seed &* 0x9E37_79B9 &+ UInt64(number))
        let opens = marketOpens.dayNumber, end = historyEnds.dayNumber
        let listed = random.int(opens...(end - 10))
        // How far into 2026 it was listed (0 before, 1 at the end of November).
        let drift = max(0, min(1, Double(listed - ISODate(parsing: "2025-11-01")!.dayNumber) / 394))
        let meanDays = district == "D1" ? 150 - 125 * drift : district == "D6" ? 150 + 850 * drift : 150
        let sold = listed + max(7, Int((-log(1 - random.unit() * 0.999) * meanDays).rounded()))
        let withdrawn = random.chance(0.12) ? listed + random.int(60...240) : Int.max
        let day = { (n: Int) in ISODate(dayNumber: n)!.text }
        let status: ListingStatus
        var closeDate: String?
        if withdrawn < sold, withdrawn <= end {
            status = .withdrawn
        } else if sold <= end {
            status = .closed
            closeDate = day(sold)
        } else if sold <= end + 21 {
            status = .pending  // agreed, closing within three weeks
        } else {
            status = .active
        }
        return (status, day(listed), closeDate)
    }

    /// A layer as an RFC 7946 FeatureCollection, one feature per line.
    public static func featureCollection(_ features: [JSONValue]) -> String {
        var out = #"{"type":"FeatureCollection","features":["#
        for (i, f) in features.enumerated() {
            out += i == 0 ? "\n" : ",\n"
            f.write(to: &out)
        }
        out += "\n]}\n"
        return out
    }
}
