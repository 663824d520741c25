import CGDAL
import Foundation
import GRDB
import RGISCore
import RGISFiles
import RGISStore

extension RGISDatabase {
    /// Writes a layer into a file GIS and office software open: a GeoPackage, a zipped Shapefile (with
    /// its `.prj`), FlatGeobuf (with its spatial index) or an XLSX sheet, through GDAL; the columns
    /// as in ``exportCSV(layer:bbox:write:)``. The file appears at `path` only when complete (it is
    /// written beside it, then renamed), replacing what was there. A bbox selects as in the GeoJSON export.
    /// - Returns: the number of features written.
    @discardableResult
    public func exportFile(layer: Layer, bbox: BBox? = nil, format: ExportFormat, to path: String) throws -> Int {
        guard format.gdalDriver != nil else { throw RGISError(.invalidValue, "\(format.rawValue) is written to standard output, not through GDAL", at: "format") }
        try refuseOwnFile(path, as: "export to")
        return try AtomicFile.write(to: path, ending: format.fileExtension) { partial in
            try translatingErrors {
                try pool.read { db in
                    let filter = Self.boxFilter(layer, bbox)
                    let others = try Self.otherPropertyTypes(db, layer, filter: filter, besides: FeatureFile.reservedNames(layer, format))
                    let writer = try OGRFeatureWriter(path: partial, format: format, layer: layer, otherProperties: others)
                    let wkbColumn = StoredFeature.columnCount(layer)
                    let rows = try db.rowCursor("SELECT \(SQL(sql: StoredFeature.attributeColumns(layer))), NULL, AsBinary(t.geom) FROM \(sql: layer.table) t\(filter) ORDER BY t.fid")
                    while let row = try rows.next() {
                        let feature = StoredFeature(row: row, layer: layer)
                        guard let wkb = row[wkbColumn] as Data? else { continue }
                        try writer.add(id: feature.id, wkb: [UInt8](wkb), properties: feature.properties)
                    }
                    try writer.finish()
                    return writer.count
                }
            }
        }
    }

    /// ` WHERE …` selecting the rows that intersect `bbox` through the spatial index, or nothing.
    static func boxFilter(_ layer: Layer, _ bbox: BBox?) -> SQL {
        guard let bbox else { return "" }
        return " WHERE \(SpatialSQL.candidates(layer, boxes: bbox.parts)) AND \(SpatialSQL.intersectsAny(bbox.parts))"
    }

    /// ``otherPropertyNames(_:_:filter:besides:)`` with the column type their values share.
    static func otherPropertyTypes(_ db: Database, _ layer: Layer, filter: SQL, besides reserved: [String]) throws -> [(name: String, kind: OGRFeatureWriter.PropertyKind)] {
        let rows = try db.rows("SELECT j.key, group_concat(DISTINCT j.type) FROM \(sql: layer.table) t, json_each(t.extra) j\(filter) GROUP BY j.key ORDER BY j.key")
        let fields = Set(layer.fields.map(\.name) + reserved + ["id"])
        return rows.compactMap { row in
            let name: String = row[0]
            let types: String = row[1] ?? ""
            return fields.contains(name) ? nil : (name, OGRFeatureWriter.PropertyKind(jsonTypes: types.split(separator: ",").map(String.init)))
        }
    }

    /// The source properties kept beside the layer's fields on the rows `filter` selects, in name order.
    static func otherPropertyNames(_ db: Database, _ layer: Layer, filter: SQL, besides reserved: [String] = []) throws -> [String] {
        let keys = try db.values("SELECT DISTINCT j.key FROM \(sql: layer.table) t, json_each(t.extra) j\(filter) ORDER BY j.key", as: String.self)
        let fields = Set(layer.fields.map(\.name) + reserved + ["id"])
        return keys.filter { !fields.contains($0) }
    }
}
