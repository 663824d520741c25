import Foundation

/// A lon/lat bounding box (CRS84): west, south, east, north.
///
/// `west > east` is a box that crosses the antimeridian, as OGC API – Features and RFC 7946 allow.
public struct BBox: Hashable, Sendable {
    public let west: Double
    public let south: Double
    public let east: Double
    public let north: Double

    public init(west: Double, south: Double, east: Double, north: Double) throws {
        for (name, v, limit) in [("minx", west, 180.0), ("miny", south, 90), ("maxx", east, 180), ("maxy", north, 90)] {
            guard v.isFinite else { throw RGISError(.invalidValue, "bbox \(name) is not a finite number") }
            guard abs(v) <= limit else { throw RGISError(.invalidValue, "bbox \(name) \(v) is outside -\(Int(limit))…\(Int(limit))") }
        }
        guard south <= north else { throw RGISError(.invalidValue, "bbox miny \(south) is greater than maxy \(north)") }
        self.west = west
        self.south = south
        self.east = east
        self.north = north
    }

    /// Reads `minx,miny,maxx,maxy`.
    public init(parsing text: String) throws {
        let numbers = try Self.numbers(parsing: text)
        try self.init(west: numbers[0], south: numbers[1], east: numbers[2], north: numbers[3])
    }

    /// The four numbers of a bbox parameter, whatever CRS they are in (`bbox-crs`).
    public static func numbers(parsing text: String) throws -> [Double] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 4 else {
            throw RGISError(.malformedInput, "bbox must be four numbers minx,miny,maxx,maxy; found \(parts.count)")
        }
        let numbers = try parts.map { part -> Double in
            guard let v = Double(part.trimmingCharacters(in: .whitespaces)) else {
                throw RGISError(.malformedInput, "bbox value '\(part)' is not a number")
            }
            return v
        }
        return numbers
    }

    /// A box that does not cross the antimeridian.
    public struct Part: Sendable, Equatable {
        public let west, south, east, north: Double
        public init(west: Double, south: Double, east: Double, north: Double) {
            self.west = west
            self.south = south
            self.east = east
            self.north = north
        }
    }

    /// The box as one or two boxes that do not cross the antimeridian.
    public var parts: [Part] {
        if west <= east { return [Part(west: west, south: south, east: east, north: north)] }
        return [Part(west: west, south: south, east: 180, north: north), Part(west: -180, south: south, east: east, north: north)]
    }
}
