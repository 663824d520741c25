import CPROJ
import Foundation
import RGISCore
import Synchronization

/// Coordinates from CRS84 (lon/lat on WGS84, as RGIS stores them) to another CRS and back, by PROJ,
/// in the axis order each CRS's definition gives (EPSG:4326 is lat/lon, most national grids
/// easting/northing, some northing/easting), as OGC API – Features Part 2 asks.
public final class CRSTransform: @unchecked Sendable {
    public let target: CRSReference
    /// Whether the CRS's first axis points north (EPSG:4326's latitude, some national grids' northing).
    public let northingFirst: Bool
    private let context: OpaquePointer
    private let projection: OpaquePointer
    /// A PROJ object is not safe to share between threads; one call at a time.
    private let lock = NSLock()

    private init(target: CRSReference) throws {
        self.target = target
        guard let context = proj_context_create() else { throw RGISError(.invalidValue, "PROJ cannot start") }
        proj_log_level(context, PJ_LOG_NONE)
        guard let crs = proj_create(context, target.projName), proj_is_crs(crs) != 0 else {
            proj_context_destroy(context)
            throw RGISError(.invalidValue, "PROJ knows no CRS \(target.projName)", at: "crs")
        }
        var direction: UnsafePointer<CChar>?
        if let system = proj_crs_get_coordinate_system(context, crs) {
            _ = proj_cs_get_axis_info(context, system, 0, nil, nil, &direction, nil, nil, nil, nil)
            proj_destroy(system)
        }
        northingFirst = direction.map { String(cString: $0).lowercased() == "north" } ?? false
        proj_destroy(crs)
        guard let projection = proj_create_crs_to_crs(context, "OGC:CRS84", target.projName, nil) else {
            proj_context_destroy(context)
            throw RGISError(.invalidValue, "PROJ cannot transform CRS84 to \(target.projName)", at: "crs")
        }
        self.context = context
        self.projection = projection
    }

    deinit {
        proj_destroy(projection)
        proj_context_destroy(context)
    }

    private static let cache = Mutex<[CRSReference: CRSTransform]>([:])

    /// The transform from CRS84 to `target`, made once per process (PROJ's lookups cost milliseconds).
    public static func to(_ target: CRSReference) throws -> CRSTransform {
        if let kept = cache.withLock({ $0[target] }) { return kept }
        let made = try CRSTransform(target: target)
        return cache.withLock { cache in
            if let kept = cache[target] { return kept }
            cache[target] = made
            return made
        }
    }

    /// Whether PROJ knows `crs` as a coordinate reference system.
    public static func isKnown(_ crs: CRSReference) -> Bool { (try? to(crs)) != nil }

    /// Transforms positions in place: (lon, lat) in, the target's two axes out (`direction` PJ_INV:
    /// the target's axes in, lon/lat out). Infinite where PROJ cannot place a position.
    package func transform(_ xs: inout [Double], _ ys: inout [Double], direction: PJ_DIRECTION = PJ_FWD) {
        guard !xs.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        let count = xs.count
        let stride = MemoryLayout<Double>.stride
        xs.withUnsafeMutableBufferPointer { x in
            ys.withUnsafeMutableBufferPointer { y in
                _ = proj_trans_generic(projection, direction, x.baseAddress, stride, count, y.baseAddress, stride, count, nil, 0, 0, nil, 0, 0)
            }
        }
    }

    /// A box given in the target CRS (its axis order) as the CRS84 box that holds it: the edges are
    /// densified so that a curved edge is covered, as PROJ's `proj_trans_bounds` does.
    public func boxInCRS84(_ values: [Double]) throws -> BBox {
        guard values.count == 4 else { throw RGISError(.malformedInput, "bbox must be four numbers", at: "parameter bbox") }
        lock.lock()
        defer { lock.unlock() }
        var west = 0.0, south = 0.0, east = 0.0, north = 0.0
        guard proj_trans_bounds(context, projection, PJ_INV, values[0], values[1], values[2], values[3], &west, &south, &east, &north, 21) != 0,
              [west, south, east, north].allSatisfy(\.isFinite) else {
            throw RGISError(.invalidValue, "bbox \(values.map { String($0) }.joined(separator: ",")) lies outside what \(target.projName) covers", at: "parameter bbox")
        }
        return try BBox(west: max(west, -180), south: max(south, -90), east: min(east, 180), north: min(north, 90))
    }

    /// GeoJSON features (a comma-separated list, as an items page holds them) with every position
    /// transformed; coordinates rounded to a millimetre in metres, 1e-9 in degrees.
    public func features(_ text: String) throws -> String {
        guard !text.isEmpty else { return text }
        var features = try JSONValue.parse(Array("[\(text)]".utf8)).arrayValue ?? []
        for i in features.indices {
            guard case .object(var feature) = features[i], let geometry = feature["geometry"] else { continue }
            feature["geometry"] = try self.geometry(geometry)
            features[i] = .object(feature)
        }
        var out = ""
        for (i, feature) in features.enumerated() {
            if i > 0 { out += ",\n" }
            feature.write(to: &out)
        }
        return out
    }

    /// A GeoJSON geometry object with its positions transformed.
    public func geometry(_ geometry: JSONValue) throws -> JSONValue {
        guard case .object(var object) = geometry, let coordinates = object["coordinates"] else { return geometry }
        var xs: [Double] = [], ys: [Double] = []
        func collect(_ v: JSONValue) {
            guard case .array(let a) = v else { return }
            if let x = a.first?.number, a.count >= 2, let y = a[1].number {
                xs.append(x)
                ys.append(y)
            } else {
                a.forEach(collect)
            }
        }
        collect(coordinates)
        transform(&xs, &ys)
        guard xs.allSatisfy(\.isFinite), ys.allSatisfy(\.isFinite) else {
            throw RGISError(.invalidValue, "a geometry lies outside what \(target.projName) can express (PROJ gives no coordinates for it)", at: "parameter crs")
        }
        let degrees = target == .crs84 || target == .wgs84LatLon
        let scale = degrees ? 1e9 : 1e3
        var next = 0
        func rebuild(_ v: JSONValue) -> JSONValue {
            guard case .array(let a) = v else { return v }
            if a.first?.number != nil, a.count >= 2, a[1].number != nil {
                defer { next += 1 }
                let x = (xs[next] * scale).rounded() / scale, y = (ys[next] * scale).rounded() / scale
                return .array([.double(x), .double(y)] + a.dropFirst(2))
            }
            return .array(a.map(rebuild))
        }
        object["coordinates"] = rebuild(coordinates)
        return .object(object)
    }
}
