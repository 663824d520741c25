import Foundation

/// A query's centre, checked: finite, longitude within ±180, latitude within ±90.
public struct Centre: Sendable, Equatable {
    public let position: Position

    public init(lon: Double, lat: Double) throws {
        guard lon.isFinite else { throw RGISError(.invalidValue, "lon must be a finite number, found \(lon)", at: "parameter lon") }
        guard lat.isFinite else { throw RGISError(.invalidValue, "lat must be a finite number, found \(lat)", at: "parameter lat") }
        guard (-180...180).contains(lon) else { throw RGISError(.invalidValue, "lon \(lon) is outside -180…180", at: "parameter lon") }
        guard (-90...90).contains(lat) else { throw RGISError(.invalidValue, "lat \(lat) is outside -90…90", at: "parameter lat") }
        position = Position(lon: lon, lat: lat)
    }
}

/// A page size: 1 to 10,000.
public struct Limit: Sendable, Equatable {
    public static let maximum = 10_000
    public let value: Int

    public init(_ value: Int, parameter: String = "limit") throws {
        guard (1...Self.maximum).contains(value) else {
            throw RGISError(.invalidValue, "\(parameter) must be between 1 and \(Self.maximum), found \(value)", at: "parameter \(parameter)")
        }
        self.value = value
    }

    public init(parsing text: String, parameter: String = "limit") throws {
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw RGISError(.malformedInput, "\(parameter) must be a whole number, found '\(text)'", at: "parameter \(parameter)")
        }
        try self.init(value, parameter: parameter)
    }
}

/// A search radius: 1 m to 100 km.
public struct RadiusMetres: Sendable, Equatable {
    public static let range = 1.0...100_000.0
    public let value: Double

    public init(_ value: Double) throws {
        guard value.isFinite, Self.range.contains(value) else {
            throw RGISError(.invalidValue, "radius_m must be between 1 and 100000 metres, found \(value)", at: "parameter radius_m")
        }
        self.value = value
    }

    /// Half the earth's circumference: a circle of this radius reaches every point.
    public static let everywhere = RadiusMetres(widening: 20_100_000)

    /// A radius a store widens itself (a nearest search's steps), up to ``everywhere``.
    public init(widening value: Double) {
        self.value = min(max(value, Self.range.lowerBound), 20_100_000)
    }
}

/// Where the next page starts: the sort key of the last row returned. Opaque to callers (base64url).
public struct PageCursor: Sendable, Equatable {
    /// The last row's distance in metres (nil for queries not sorted by distance).
    public let distanceMetres: Double?
    /// The last row's storage key.
    public let fid: Int64

    public init(distanceMetres: Double?, fid: Int64) {
        self.distanceMetres = distanceMetres
        self.fid = fid
    }

    public var token: String {
        let text = distanceMetres.map { "d\($0.bitPattern):\(fid)" } ?? "f\(fid)"
        return Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    public init(parsing token: String) throws {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        let malformed = RGISError(.malformedInput, "cursor '\(token.prefix(40))' is not one this service issued", at: "parameter cursor")
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { throw malformed }
        if text.hasPrefix("f"), let fid = Int64(text.dropFirst()) {
            self.init(distanceMetres: nil, fid: fid)
            return
        }
        let parts = text.dropFirst().split(separator: ":")
        guard text.hasPrefix("d"), parts.count == 2, let bits = UInt64(parts[0]), let fid = Int64(parts[1]) else { throw malformed }
        let distance = Double(bitPattern: bits)
        guard distance.isFinite, distance >= 0 else { throw malformed }
        self.init(distanceMetres: distance, fid: fid)
    }
}

/// Which layer a query reads.
public enum QueryLayer: String, Sendable, CaseIterable {
    case listings, parcels, buildings

    public var layer: Layer { Layer(rawValue: rawValue)! }
}
