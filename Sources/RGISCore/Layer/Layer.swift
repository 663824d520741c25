/// The stored feature layers: one table each, with one geometry column `geom` in EPSG:4326.
public enum Layer: String, CaseIterable, Sendable, CustomStringConvertible {
    case listings, parcels, buildings, districts, demands

    public var description: String { rawValue }

    /// The geometry type the layer stores.
    public var storedGeometry: Geometry.Kind {
        self == .listings ? .point : .multiPolygon
    }

    /// Geometry types an import accepts; polygons are stored as one-part multipolygons, and a demand's
    /// point is its search centre, stored as the circle of `radius_m` around it.
    public var acceptedGeometry: [Geometry.Kind] {
        switch self {
        case .listings: [.point]
        case .demands: [.polygon, .multiPolygon, .point]
        case .parcels, .buildings, .districts: [.polygon, .multiPolygon]
        }
    }

    /// The typed attribute columns, besides `id`, `extra` and `geom`.
    public var fields: [Field] { Self.fieldsByLayer[self]! }

    public func field(named name: String) -> Field? {
        Self.fieldIndex[self]![name]
    }

    // Built once: the import path asks for them for every property of every feature.
    private static let fieldsByLayer = Dictionary(uniqueKeysWithValues: allCases.map { ($0, $0.declaredFields) })
    private static let fieldIndex = fieldsByLayer.mapValues { fields in
        Dictionary(uniqueKeysWithValues: fields.map { ($0.name, $0) })
    }

    private var declaredFields: [Field] {
        switch self {
        case .listings: [
            Field("status", .oneOf(ListingStatus.allCases.map(\.rawValue)), default: ListingStatus.active.rawValue),
            Field("property_type", .oneOf(PropertyType.allCases.map(\.rawValue))),
            Field("list_price", .real(0...1e12)),
            Field("living_area_m2", .real(0...1_000_000)),
            Field("bedrooms", .integer(0...1000)),
            Field("bathrooms", .real(0...1000)),
            Field("year_built", .integer(1000...2200)),
            Field("address", .text),
            Field("building_id", .text),
            Field("parcel_id", .text),
            Field("list_date", .date),
            Field("close_date", .date),
            Field("close_price", .real(0...1e12)),
            Field("agent", .text),
        ]
        case .parcels: [
            Field("cadastral_number", .text),
            Field("land_use", .text),
            Field("zoning", .text),
            Field("area_m2", .real(0...1e11)),
            Field("valid_from", .date),
            Field("valid_to", .date),
        ]
        case .buildings: [
            Field("parcel_id", .text),
            Field("use", .text),
            Field("floors", .integer(0...1000)),
            Field("height_m", .real(0...10_000)),
            Field("year_built", .integer(1000...2200)),
            Field("units", .integer(0...1_000_000)),
        ]
        case .districts: [
            Field("name", .text),
            Field("level", .oneOf(DistrictLevel.allCases.map(\.rawValue)), default: DistrictLevel.district.rawValue),
            Field("parent_id", .text),
        ]
        case .demands: [
            Field("client_id", .text),
            Field("agent", .text),
            Field("status", .oneOf(DemandStatus.allCases.map(\.rawValue)), default: DemandStatus.active.rawValue),
            Field("budget_min", .real(0...1e12)),
            Field("budget_max", .real(0...1e12)),
            Field("bedrooms_min", .integer(0...1000)),
            Field("property_types", .listOf(PropertyType.allCases.map(\.rawValue))),
            Field("area_min_m2", .real(0...1_000_000)),
            Field("area_max_m2", .real(0...1_000_000)),
            Field("radius_m", .real(1...100_000)),
            Field("created_at", .date),
        ]
        }
    }

    /// Prefix of ids RGIS generates for records whose source has none (`listing-17`).
    public var generatedIDPrefix: String {
        switch self {
        case .listings: "listing-"
        case .parcels: "parcel-"
        case .buildings: "building-"
        case .districts: "district-"
        case .demands: "demand-"
        }
    }

    /// Reads a layer name, with an error that lists the valid ones.
    public init(parsing text: String) throws {
        guard let layer = Layer(rawValue: text.lowercased()) else {
            throw RGISError(.invalidValue, "unknown layer '\(text)'; layers are \(Layer.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = layer
    }
}

/// A typed attribute column of a layer.
public struct Field: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case text
        /// A whole number in a range: values outside it are refused where they are read, so that a
        /// stored number never traps a conversion on the way out.
        case integer(ClosedRange<Int64>)
        /// A finite number in a range (see ``integer(_:)``).
        case real(ClosedRange<Double>)
        /// An ISO 8601 date (`2024-05-31`) or date-time (`2024-05-31T12:00:00Z`).
        case date
        /// One of a fixed set of lowercase codes.
        case oneOf([String])
        /// A comma-separated list of codes from a fixed set.
        case listOf([String])
    }

    public let name: String
    public let kind: Kind
    /// Stored when the source gives no value.
    public let defaultValue: String?

    public init(_ name: String, _ kind: Kind, default defaultValue: String? = nil) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
    }
}

/// Listing status, after RESO's StandardStatus.
public enum ListingStatus: String, CaseIterable, Sendable {
    case active, pending, closed, withdrawn, expired, canceled
    case comingSoon = "coming_soon"
}

/// What kind of property a listing is, or a demand asks for.
public enum PropertyType: String, CaseIterable, Sendable {
    case apartment, house, townhouse, land, commercial, office
}

public enum DemandStatus: String, CaseIterable, Sendable {
    case active, paused, fulfilled, cancelled
}

public enum DistrictLevel: String, CaseIterable, Sendable {
    case city, district, subdistrict
}
