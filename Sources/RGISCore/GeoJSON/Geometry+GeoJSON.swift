extension Geometry {
    /// Reads a GeoJSON geometry object. Throws ``RGISError/Code/malformedInput`` naming the member at fault.
    ///
    /// This checks shape only (types, nesting, numbers); ``validate(in:)`` checks the rules of the geometry.
    public init(geoJSON value: JSONValue) throws {
        guard case .object(let object) = value else {
            throw RGISError(.malformedInput, "geometry must be a GeoJSON object, found \(value.typeName)")
        }
        guard case .string(let type)? = object["type"] else {
            throw RGISError(.malformedInput, "geometry has no string member \"type\"")
        }
        if type == "GeometryCollection" {
            throw RGISError(.invalidValue, "geometry type GeometryCollection is not supported; split it into features")
        }
        guard let kind = Kind(rawValue: type) else {
            throw RGISError(.malformedInput, "unknown geometry type '\(type)'")
        }
        guard let coordinates = object["coordinates"] else {
            throw RGISError(.malformedInput, "\(type) has no \"coordinates\"")
        }
        switch kind {
        case .point: self = .point(try Self.position(coordinates, path: "coordinates"))
        case .multiPoint: self = .multiPoint(try Self.positions(coordinates, path: "coordinates"))
        case .lineString: self = .lineString(try Self.positions(coordinates, path: "coordinates"))
        case .multiLineString: self = .multiLineString(try Self.rings(coordinates, path: "coordinates"))
        case .polygon: self = .polygon(try Self.rings(coordinates, path: "coordinates"))
        case .multiPolygon:
            guard case .array(let polys) = coordinates else { throw Self.notArray("coordinates", coordinates) }
            self = .multiPolygon(try polys.enumerated().map { try Self.rings($1, path: "coordinates[\($0)]") })
        }
    }

    private static func notArray(_ path: String, _ value: JSONValue) -> RGISError {
        RGISError(.malformedInput, "\(path) must be an array, found \(value.typeName)")
    }

    private static func position(_ value: JSONValue, path: String) throws -> Position {
        guard case .array(let numbers) = value else { throw notArray(path, value) }
        guard numbers.count >= 2 else {
            throw RGISError(.malformedInput, "\(path) must hold at least two numbers (lon, lat), found \(numbers.count)")
        }
        guard let lon = numbers[0].number, let lat = numbers[1].number else {
            throw RGISError(.malformedInput, "\(path) must hold numbers, found \(numbers[0].shortDescription), \(numbers[1].shortDescription)")
        }
        return Position(lon: lon, lat: lat)
    }

    private static func positions(_ value: JSONValue, path: String) throws -> [Position] {
        guard case .array(let items) = value else { throw notArray(path, value) }
        return try items.enumerated().map { try position($1, path: "\(path)[\($0)]") }
    }

    private static func rings(_ value: JSONValue, path: String) throws -> [[Position]] {
        guard case .array(let items) = value else { throw notArray(path, value) }
        return try items.enumerated().map { try positions($1, path: "\(path)[\($0)]") }
    }

    /// The GeoJSON geometry object.
    public var geoJSON: JSONValue {
        func pos(_ p: Position) -> JSONValue { .array([.double(p.lon), .double(p.lat)]) }
        func line(_ ps: [Position]) -> JSONValue { .array(ps.map(pos)) }
        func poly(_ rs: [[Position]]) -> JSONValue { .array(rs.map(line)) }
        let coordinates: JSONValue = switch self {
        case .point(let p): pos(p)
        case .multiPoint(let ps), .lineString(let ps): line(ps)
        case .multiLineString(let ls), .polygon(let ls): poly(ls)
        case .multiPolygon(let ps): .array(ps.map(poly))
        }
        return .object(["type": .string(typeName), "coordinates": coordinates])
    }
}
