import CGDAL
import Foundation
import RGISCore

/// Features written through GDAL's vector API into a GeoPackage, a zipped Shapefile, FlatGeobuf or
/// XLSX, on WGS84 (EPSG:4326, lon/lat). The columns are those of the CSV export: `id`, the layer's
/// fields with their types (integers, reals, dates, text), then the other source properties as text
/// (nested values as JSON). A spreadsheet has no geometry column: it gets `lon` and `lat` for points,
/// else `wkt`, as CSV does.
package final class OGRFeatureWriter {
    private let dataset: GDALDatasetH
    private let layer: OGRLayerH
    private let definition: OGRFeatureDefnH
    private let srs: OGRSpatialReferenceH
    private let format: ExportFormat
    private let points: Bool
    /// Property names in field order, after `id` (and the spreadsheet's geometry columns).
    private let names: [String]
    private let firstPropertyField: Int32
    private let transaction: Bool
    private var closed = false
    package private(set) var count = 0

    /// Creates `path` (which must not exist) holding one layer named after `layer`.
    /// `otherProperties` are the source properties beyond the layer's fields, in column order, each
    /// with the type its values share.
    package init(path: String, format: ExportFormat, layer source: Layer, otherProperties: [(name: String, kind: PropertyKind)]) throws {
        _ = GDALRuntime.ready
        CPLErrorReset()
        guard let driverName = format.gdalDriver, let driver = GDALGetDriverByName(driverName) else {
            throw RGISError(.invalidValue, "the installed GDAL cannot write \(format.rawValue)")
        }
        guard let created = GDALCreate(driver, path, 0, 0, 0, GDT_Unknown, nil) else {
            throw RGISError(.invalidValue, "GDAL cannot create \(path) as \(driverName)\(GDALRuntime.because)")
        }
        dataset = created
        self.format = format
        points = source.storedGeometry == .point
        let srs = OSRNewSpatialReference(nil)!
        OSRImportFromEPSG(srs, 4326)
        OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER)
        self.srs = srs

        let geometryType: OGRwkbGeometryType = !format.hasGeometry ? wkbNone : points ? wkbPoint : wkbMultiPolygon
        var options: [String] = []
        switch format {
        case .shp: options = ["ENCODING=UTF-8"]
        case .fgb: options = ["SPATIAL_INDEX=YES"]
        case .gpkg: options = ["GEOMETRY_NAME=geom", "SPATIAL_INDEX=YES"]
        default: break
        }
        let withGeometry = format.hasGeometry
        let made = GDALRuntime.withOptions(options) { list in
            GDALDatasetCreateLayer(created, source.rawValue, withGeometry ? srs : nil, geometryType, list)
        }
        guard let made else {
            GDALClose(created)
            OSRDestroySpatialReference(srs)
            throw RGISError(.invalidValue, "GDAL cannot create the layer \(source.rawValue) in \(driverName)\(GDALRuntime.because)")
        }
        layer = made

        // Text is as wide as a .dbf allows (254); GDAL cuts a Shapefile's names to 10 characters.
        func add(_ name: String, _ type: OGRFieldType) throws {
            let field = OGR_Fld_Create(name, type)
            defer { OGR_Fld_Destroy(field) }
            if type == OFTString, format == .shp { OGR_Fld_SetWidth(field, 254) }
            guard OGR_L_CreateField(made, field, 1) == OGRERR_NONE else {
                throw RGISError(.invalidValue, "GDAL cannot add the field \(name) to \(driverName)\(GDALRuntime.because)")
            }
        }
        do {
            try add("id", OFTString)
            if !format.hasGeometry {
                if points { try add("lon", OFTReal); try add("lat", OFTReal) } else { try add("wkt", OFTString) }
            }
            firstPropertyField = OGR_FD_GetFieldCount(OGR_L_GetLayerDefn(made))
            for field in source.fields {
                switch field.kind {
                case .integer: try add(field.name, OFTInteger64)
                case .real: try add(field.name, OFTReal)
                case .date: try add(field.name, format == .xlsx ? OFTString : OFTDate)
                case .text, .oneOf, .listOf: try add(field.name, OFTString)
                }
            }
            for (name, kind) in otherProperties {
                try add(name, kind == .integer ? OFTInteger64 : kind == .real ? OFTReal : OFTString)
            }
        } catch {
            GDALClose(created)
            OSRDestroySpatialReference(srs)
            throw error
        }
        names = source.fields.map(\.name) + otherProperties.map(\.name)
        definition = OGR_L_GetLayerDefn(made)
        // One transaction where the format has them (a GeoPackage): far faster than one per row.
        transaction = GDALDatasetStartTransaction(created, 0) == OGRERR_NONE
    }

    /// The column type of a source property: integer or real where every value is one, else text.
    package enum PropertyKind {
        case integer, real, text

        /// The kind of values with these JSON types (SQLite's `json_each` names: integer, real, text, true, null, object…).
        package init(jsonTypes: some Sequence<String>) {
            let types = Set(jsonTypes).subtracting(["null"])
            self = types.isEmpty || !types.isSubset(of: ["integer", "real"]) ? .text : types == ["integer"] ? .integer : .real
        }

        /// The JSON type name of a value, as `json_each` gives it.
        package static func jsonType(_ value: JSONValue) -> String {
            switch value {
            case .null: "null"
            case .int: "integer"
            case .double: "real"
            default: "text"
            }
        }
    }

    deinit {
        if !closed { GDALClose(dataset) }
        OSRDestroySpatialReference(srs)
    }

    /// Adds one feature: its source id, its geometry as WKB (EPSG:4326) and its properties.
    package func add(id: String, wkb: [UInt8], properties: [String: JSONValue]) throws {
        guard let feature = OGR_F_Create(definition) else { throw RGISError(.invalidValue, "GDAL cannot make a feature\(GDALRuntime.because)") }
        defer { OGR_F_Destroy(feature) }
        OGR_F_SetFieldString(feature, 0, id)
        var geometry: OGRGeometryH?
        let made = wkb.withUnsafeBufferPointer { bytes in
            OGR_G_CreateFromWkb(UnsafeMutableRawPointer(mutating: bytes.baseAddress), srs, &geometry, Int32(bytes.count))
        }
        guard made == OGRERR_NONE, var geometry else { throw RGISError(.invalidValue, "feature \(id): GDAL cannot read its geometry\(GDALRuntime.because)") }
        if format.hasGeometry {
            if !points, OGR_G_GetGeometryType(geometry) == wkbPolygon { geometry = OGR_G_ForceToMultiPolygon(geometry) }
            OGR_F_SetGeometryDirectly(feature, geometry)
        } else {
            defer { OGR_G_DestroyGeometry(geometry) }
            if points {
                OGR_F_SetFieldDouble(feature, 1, OGR_G_GetX(geometry, 0))
                OGR_F_SetFieldDouble(feature, 2, OGR_G_GetY(geometry, 0))
            } else {
                var text: UnsafeMutablePointer<CChar>?
                if OGR_G_ExportToIsoWkt(geometry, &text) == OGRERR_NONE, let text {
                    OGR_F_SetFieldString(feature, 1, text)
                    VSIFree(text)
                }
            }
        }
        for (offset, name) in names.enumerated() {
            let index = firstPropertyField + Int32(offset)
            switch properties[name] {
            case nil, .null?: OGR_F_SetFieldNull(feature, index)
            case .int(let v)?: OGR_F_SetFieldInteger64(feature, index, v)
            case .double(let v)?: OGR_F_SetFieldDouble(feature, index, v)
            case .string(let v)?: OGR_F_SetFieldString(feature, index, v)
            case .bool(let v)?: OGR_F_SetFieldString(feature, index, v ? "true" : "false")
            case let nested?: OGR_F_SetFieldString(feature, index, nested.jsonText)
            }
        }
        guard OGR_L_CreateFeature(layer, feature) == OGRERR_NONE else {
            throw RGISError(.invalidValue, "feature \(id): GDAL cannot write it\(GDALRuntime.because)")
        }
        count += 1
    }

    /// Commits and closes the file; only then is it complete (a FlatGeobuf's index, a zip's directory).
    package func finish() throws {
        if transaction, GDALDatasetCommitTransaction(dataset) != OGRERR_NONE {
            throw RGISError(.invalidValue, "GDAL cannot commit the file\(GDALRuntime.because)")
        }
        closed = true
        CPLErrorReset()
        GDALClose(dataset)
        guard CPLGetLastErrorType().rawValue < CE_Failure.rawValue else {
            throw RGISError(.invalidValue, "GDAL cannot finish the file\(GDALRuntime.because)")
        }
    }
}
