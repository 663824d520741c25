import CGEOS
import Foundation
import GRDB
import RGISCore
import RGISStore

/// Places points in the districts as ``DistrictPlacement`` does in SQL (`ST_Covers`, which SpatiaLite
/// hands to GEOS; where several districts of a level cover a point, the lowest fid wins), with
/// every district read once and prepared by GEOS once, so that a bulk import of listings writes each
/// row placed instead of placing it afterwards with an `UPDATE` of every row.
final class PointPlacer {
    private struct District {
        let fid: Int64
        let level: Int
        let box: (west: Double, south: Double, east: Double, north: Double)
        let geometry: OpaquePointer
        let prepared: OpaquePointer
    }

    private let context: GEOSContextHandle_t
    /// By fid, so that the first holder of a level found is the lowest.
    private var districts: [District] = []

    init(_ db: Database) throws {
        guard let context = GEOS_init_r() else { throw RGISError(.database, "GEOS cannot start") }
        self.context = context
        let reader = GEOSWKBReader_create_r(context)
        defer { GEOSWKBReader_destroy_r(context, reader) }
        let levels = DistrictLevel.allCases.map(\.rawValue)
        let rows = try Row.fetchAll(db, sql: """
            SELECT fid, level, AsBinary(geom), MbrMinX(geom), MbrMinY(geom), MbrMaxX(geom), MbrMaxY(geom)
            FROM districts WHERE geom IS NOT NULL ORDER BY fid
            """)
        for row in rows {
            guard let level = levels.firstIndex(of: row[1] as String), let wkb = row[2] as Data? else { continue }
            let geometry = wkb.withUnsafeBytes { bytes in
                GEOSWKBReader_read_r(context, reader, bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count)
            }
            guard let geometry else { throw RGISError(.database, "GEOS cannot read district \(row[0] as Int64)'s polygon") }
            guard let prepared = GEOSPrepare_r(context, geometry) else {
                GEOSGeom_destroy_r(context, geometry)
                throw RGISError(.database, "GEOS cannot prepare district \(row[0] as Int64)'s polygon")
            }
            districts.append(District(fid: row[0], level: level, box: (row[3], row[4], row[5], row[6]), geometry: geometry, prepared: prepared))
        }
    }

    deinit {
        for district in districts {
            GEOSPreparedGeom_destroy_r(context, district.prepared)
            GEOSGeom_destroy_r(context, district.geometry)
        }
        GEOS_finish_r(context)
    }

    /// The fid of the district holding (lon, lat) at each level, in ``DistrictLevel/allCases`` order.
    func place(lon: Double, lat: Double) -> [Int64?] {
        var holders = [Int64?](repeating: nil, count: DistrictLevel.allCases.count)
        var point: OpaquePointer?
        defer { if let point { GEOSGeom_destroy_r(context, point) } }
        for district in districts where holders[district.level] == nil {
            guard lon >= district.box.west, lon <= district.box.east, lat >= district.box.south, lat <= district.box.north else { continue }
            if point == nil { point = GEOSGeom_createPointFromXY_r(context, lon, lat) }
            guard let point else { return holders }
            if GEOSPreparedCovers_r(context, district.prepared, point) == 1 { holders[district.level] = district.fid }
        }
        return holders
    }
}
