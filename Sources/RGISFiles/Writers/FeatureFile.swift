import CGDAL
import Foundation
import RGISCore

/// A page of features (an HTTP answer) as a file in memory, through the same writer as the export.
public enum FeatureFile {
    /// The column names a format keeps for itself: a GeoPackage's key and geometry, a sheet's coordinates.
    package static func reservedNames(_ layer: Layer, _ format: ExportFormat) -> [String] {
        ["fid", "geom"] + (format.hasGeometry ? [] : layer.storedGeometry == .point ? ["lon", "lat"] : ["wkt"])
    }

    /// GeoJSON features (`id`, `geometry`, `properties`) of `layer` written as `format`; properties
    /// beyond the layer's fields typed by their values (indicators' figures are numbers).
    public static func encode(_ features: [JSONValue], layer: Layer, format: ExportFormat) throws -> [UInt8] {
        let fields = Set(layer.fields.map(\.name) + reservedNames(layer, format) + ["id"])
        var others: [String: Set<String>] = [:]
        for f in features {
            for (key, value) in f["properties"]?.objectValue ?? [:] where !fields.contains(key) {
                others[key, default: []].insert(OGRFeatureWriter.PropertyKind.jsonType(value))
            }
        }
        let path = "/vsimem/rgis-\(UUID().uuidString).\(format.fileExtension)"
        defer { VSIUnlink(path) }
        let writer = try OGRFeatureWriter(path: path, format: format, layer: layer, otherProperties: others.sorted { $0.key < $1.key }.map { ($0.key, OGRFeatureWriter.PropertyKind(jsonTypes: $0.value)) })
        for f in features {
            guard let geometry = f["geometry"], let shape = try? Geometry(geoJSON: geometry) else { continue }
            let id = f["id"]?.stringValue ?? f["id"].map(\.jsonText) ?? ""
            try writer.add(id: id, wkb: shape.wkb, properties: f["properties"]?.objectValue ?? [:])
        }
        try writer.finish()
        var length: vsi_l_offset = 0
        guard let buffer = VSIGetMemFileBuffer(path, &length, 0) else {
            throw RGISError(.invalidValue, "GDAL wrote no \(format.rawValue) file\(GDALRuntime.because)")
        }
        return [UInt8](UnsafeBufferPointer(start: buffer, count: Int(length)))
    }
}
