import CGDAL
import Foundation
import RGISCore
import RGISStore

/// Features read through GDAL's vector API (OGR): Shapefile (with its `.prj`, also zipped),
/// GeoPackage, FileGDB, FlatGeobuf, KML, GPX, GML and whatever else the installed GDAL reads. One
/// layer of the file is streamed feature by feature; each geometry is transformed by GDAL (PROJ) from
/// the layer's CRS to EPSG:4326 in lon/lat order and handed, with its fields, to the same record
/// builder as GeoJSON and CSV, so that validation, typing, ids and errors are the same.
final class OGRFeatureSource: FeatureSource {
    private let dataset: GDALDatasetH
    private let layer: OGRLayerH
    private let transform: OGRCoordinateTransformationH?
    private let builder: LayerRecordBuilder
    /// The layer's fields in order, under the names the record builder reads.
    private let fields: [(name: String, type: OGRFieldType, boolean: Bool)]
    private let featureCount: Int
    /// Where a sheet's coordinates are (nil: the layer has geometry).
    private let coordinateColumns: CoordinateColumns?
    private let totalBytes: Int
    private var number = 0

    /// What the file is (GDAL's driver) and the layer read, for the report.
    let driver: String
    let layerName: String
    /// The layer's CRS as GDAL names it (`EPSG:25832`), or nil when the file gives none.
    let crs: String?

    /// The one layer that holds features, when all the others are empty.
    private static func onlyNonEmpty(_ dataset: GDALDatasetH, _ names: [String]) -> String? {
        let full = names.filter { name in GDALDatasetGetLayerByName(dataset, name).map { OGR_L_GetFeatureCount($0, 1) > 0 } ?? false }
        return full.count == 1 ? full[0] : nil
    }

    /// The short names of GDAL's vector drivers but those given, as C strings for `GDALOpenEx`.
    private static func vectorDrivers(excluding excluded: Set<String>) -> [UnsafeMutablePointer<CChar>] {
        (0..<GDALGetDriverCount()).compactMap { i -> UnsafeMutablePointer<CChar>? in
            guard let driver = GDALGetDriver(i), let name = GDALGetDriverShortName(driver).map({ String(cString: $0) }),
                  GDALGetMetadataItem(driver, GDAL_DCAP_VECTOR, nil) != nil, !excluded.contains(name) else { return nil }
            return strdup(name)
        }
    }

    /// The paths GDAL tries in turn: the file itself (XLSX, ODS and KMZ are zip archives GDAL opens as
    /// they are), then a zip archive's content (a zipped Shapefile) through its virtual file system.
    static func gdalPaths(_ path: String, head: ArraySlice<UInt8>) -> [String] {
        isZip(head) && !path.hasPrefix("/vsi") ? [path, "/vsizip/" + path] : [path]
    }

    static func isZip(_ head: ArraySlice<UInt8>) -> Bool {
        head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06])
    }

    /// What a zip archive may expand to: at most 4 GB, and at most 200 times its own size (a Shapefile
    /// deflates to a third or so, a sheet's XML to a tenth); beyond either it is refused unread, as a
    /// zip bomb would be, in the time it takes to read its directory.
    static let zipLimits = (bytes: Int64(4) << 30, ratio: Int64(200))

    /// Sums the sizes the archive's directory gives for its files, without inflating any.
    static func checkZip(_ path: String) throws {
        let archive = "/vsizip/" + path
        guard let list = VSIReadDirRecursive(archive) else { return }
        defer { CSLDestroy(list) }
        var expanded: Int64 = 0
        var i = 0
        while let entry = list[i] {
            expanded += max(0, Int64(rgis_vsi_file_size(archive + "/" + String(cString: entry))))
            i += 1
        }
        let packed = Int64((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
        if expanded > zipLimits.bytes || (packed > 0 && expanded > packed * zipLimits.ratio) {
            throw RGISError(.invalidValue, "this zip archive of \(packed) bytes expands to \(expanded) bytes (\(packed > 0 ? expanded / packed : 0) times its size); rgis takes at most \(zipLimits.bytes >> 30) GB and \(zipLimits.ratio) times, so it is refused unread")
        }
    }

    /// Opens `path` and picks its layer: `sourceLayer` by name, else the only one, else the one named
    /// as the RGIS layer (`listings`), else the only one that holds features; otherwise the error lists
    /// the layers to choose from.
    /// `fallbackSRID` is the CRS of a file that names none (`--srid`).
    init(path: String, head: ArraySlice<UInt8>, sourceLayer: String?, fallbackSRID: SRID, builder: LayerRecordBuilder, seen: String?) throws {
        _ = GDALRuntime.ready
        CPLErrorReset()
        // Not as text: a file whose content is something else is not read as CSV because of its name.
        let drivers = Self.vectorDrivers(excluding: seen == nil ? [] : ["CSV", "GeoJSON", "GeoJSONSeq", "ESRIJSON", "TopoJSON"])
        defer { for d in drivers { free(d) } }
        let allowed = drivers.map { UnsafePointer<CChar>?(UnsafePointer($0)) } + [nil]
        if Self.isZip(head) { try Self.checkZip(path) }
        let opened = Self.gdalPaths(path, head: head).lazy.compactMap { GDALOpenEx($0, UInt32(GDAL_OF_VECTOR | GDAL_OF_READONLY), allowed, nil, nil) }.first
        guard let opened else {
            let what = seen.map { "is \($0), but " } ?? ""
            throw RGISError(.invalidValue, "\(what)GDAL cannot read it as vector data\(GDALRuntime.because); rgis import reads GeoJSON, CSV and the vector formats GDAL reads (Shapefile, GeoPackage, FlatGeobuf, KML, GPX, GML, FileGDB, XLSX, ODS)")
        }
        dataset = opened
        driver = GDALGetDriverShortName(GDALGetDatasetDriver(opened)).map { String(cString: $0) } ?? "GDAL"
        var names: [String] = []
        for i in 0..<GDALDatasetGetLayerCount(opened) {
            if let l = GDALDatasetGetLayer(opened, i), let name = OGR_L_GetName(l) { names.append(String(cString: name)) }
        }
        let chosen: String
        if let sourceLayer {
            guard names.contains(sourceLayer) else {
                GDALClose(opened)
                throw RGISError(.notFound, "--source-layer: no layer '\(sourceLayer)' in this \(driver) file; its layers are \(names.joined(separator: ", "))")
            }
            chosen = sourceLayer
        } else if names.count == 1 {
            chosen = names[0]
        } else if names.contains(builder.layer.rawValue) {
            chosen = builder.layer.rawValue
        } else if let only = Self.onlyNonEmpty(opened, names) {
            // A GPX file's waypoints beside its empty routes and tracks.
            chosen = only
        } else {
            GDALClose(opened)
            throw RGISError(.invalidValue, names.isEmpty ? "\(seen.map { "is \($0), but " } ?? "")GDAL (\(driver)) finds no vector layer in it"
                            : "this \(driver) file holds \(names.count) layers (\(names.joined(separator: ", "))); choose one with --source-layer NAME")
        }
        layerName = chosen
        layer = GDALDatasetGetLayerByName(opened, chosen)
        featureCount = Int(OGR_L_GetFeatureCount(layer, 0))
        totalBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        self.builder = builder

        // The layer's CRS (else --srid) to lon/lat on WGS84, in that axis order whatever the CRS says.
        let target = OSRNewSpatialReference(nil)!
        defer { OSRDestroySpatialReference(target) }
        OSRImportFromEPSG(target, 4326)
        OSRSetAxisMappingStrategy(target, OAMS_TRADITIONAL_GIS_ORDER)
        var source: OGRSpatialReferenceH?
        if let own = OGR_L_GetSpatialRef(layer) {
            source = OSRClone(own)
        } else if !fallbackSRID.isGeographicWGS84 {
            source = OSRNewSpatialReference(nil)
            OSRImportFromEPSG(source, Int32(fallbackSRID.code))
        }
        defer { if let source { OSRDestroySpatialReference(source) } }
        if let source {
            OSRSetAxisMappingStrategy(source, OAMS_TRADITIONAL_GIS_ORDER)
            _ = OSRAutoIdentifyEPSG(source)
            let authority = OSRGetAuthorityName(source, nil).map { String(cString: $0) }
            let code = OSRGetAuthorityCode(source, nil).map { String(cString: $0) }
            crs = authority.flatMap { a in code.map { "\(a):\($0)" } } ?? "the file's CRS"
            if OSRIsSame(source, target) != 0 {
                transform = nil
            } else {
                guard let t = OCTNewCoordinateTransformation(source, target) else {
                    GDALClose(opened)
                    throw RGISError(.invalidValue, "PROJ cannot transform \(crs!) to EPSG:4326\(GDALRuntime.because)")
                }
                transform = t
            }
        } else {
            crs = nil
            transform = nil
        }

        // Field names as the builder reads them. A Shapefile's .dbf cuts names to 10 characters
        // (`living_are`): such a name is read as the one field of the layer it begins.
        let definition = OGR_L_GetLayerDefn(layer)
        let known = builder.layer.fields.map(\.name) + ["id"]
        let shapefile = driver == "ESRI Shapefile"
        let dates = Set(builder.layer.fields.filter { $0.kind == .date }.map(\.name))
        fields = (0..<OGR_FD_GetFieldCount(definition)).map { i in
            let field = OGR_FD_GetFieldDefn(definition, i)
            var name = String(cString: OGR_Fld_GetNameRef(field))
            if shapefile, name.count == 10, !known.contains(name), builder.mapping.targets[name] == nil {
                let longer = known.filter { $0.hasPrefix(name) }
                if longer.count == 1 { name = longer[0] }
            }
            var type = OGR_Fld_GetType(field)
            // A date field kept as date and time (FlatGeobuf has no date type) is read as the date it holds.
            if type == OFTDateTime, dates.contains(builder.mapping.targets[name] ?? name) { type = OFTDate }
            return (name, type, OGR_Fld_GetSubType(field) == OFSTBoolean)
        }
        // A sheet (XLSX, ODS) has no geometry: its coordinates are columns, named as in a CSV file.
        if OGR_FD_GetGeomFieldCount(definition) == 0 {
            let names = fields.map(\.name)
            guard let columns = CoordinateColumns(header: names, mapping: builder.mapping) else {
                GDALClose(opened)
                throw RGISError(.malformedInput, "this \(driver) sheet has no geometry and no coordinate columns: \(CoordinateColumns.expected). Columns found: \(names.joined(separator: ", "))")
            }
            coordinateColumns = columns
        } else {
            coordinateColumns = nil
        }
        OGR_L_ResetReading(layer)
    }

    /// `GPKG layer 'plots', EPSG:25832 → EPSG:4326`.
    var description: String {
        "\(driver) layer '\(layerName)', " + (crs.map { transform == nil ? $0 : "\($0) → EPSG:4326" } ?? "no CRS given: read as EPSG:4326 lon/lat")
    }

    deinit {
        if let transform { OCTDestroyCoordinateTransformation(transform) }
        GDALClose(dataset)
    }

    /// The file's bytes in proportion to the features read (GDAL does not say where it is in the file).
    var bytesRead: Int { featureCount > 0 ? min(totalBytes, totalBytes * number / featureCount) : 0 }

    func next() throws -> SourceRow? {
        CPLErrorReset()
        guard let feature = OGR_L_GetNextFeature(layer) else {
            if let error = GDALRuntime.lastError { throw RGISError(.malformedInput, "GDAL stopped reading after feature \(number): \(error)") }
            return nil
        }
        defer { OGR_F_Destroy(feature) }
        number += 1
        let location = "feature \(number) (\(driver) FID \(OGR_F_GetFID(feature)))"
        return SourceRow(location: location, record: Result { try record(feature) }.mapError { error in
            (error as? RGISError) ?? RGISError(.malformedInput, "\(error)")
        })
    }

    private func record(_ feature: OGRFeatureH) throws -> LayerRecord {
        var properties: [String: JSONValue] = [:]
        for (i, field) in fields.enumerated() {
            let index = Int32(i)
            guard OGR_F_IsFieldSetAndNotNull(feature, index) != 0 else { continue }
            properties[field.name] = value(feature, index, field.type, boolean: field.boolean)
        }
        var made: OGRGeometryH?
        defer { if let made { OGR_G_DestroyGeometry(made) } }
        if let coordinateColumns {
            made = try sheetGeometry(feature, coordinateColumns)
            for i in coordinateColumns.indexes { properties[fields[i].name] = nil }
        }
        guard let geometry = made ?? OGR_F_GetGeometryRef(feature), OGR_G_IsEmpty(geometry) == 0 else {
            return try builder.record(fromFeature: .object(["type": .string("Feature"), "geometry": .null, "properties": .object(properties)]))
        }
        if let transform {
            guard OGR_G_Transform(geometry, transform) == OGRERR_NONE else {
                throw RGISError(.invalidValue, "geometry could not be transformed from \(crs ?? "its CRS") to EPSG:4326\(GDALRuntime.because)")
            }
        }
        // Curves (FileGDB, GML) as the lines and polygons that approximate them.
        let linear = OGR_G_HasCurveGeometry(geometry, 0) != 0 ? OGR_G_GetLinearGeometry(geometry, 0, nil) : nil
        defer { if let linear { OGR_G_DestroyGeometry(linear) } }
        guard let json = OGR_G_ExportToJson(linear ?? geometry) else {
            throw RGISError(.invalidValue, "geometry cannot be written as GeoJSON\(GDALRuntime.because)")
        }
        defer { VSIFree(json) }
        let text = String(cString: json)
        return try builder.record(idMember: nil, properties: properties, geometry: try Geometry(geoJSON: JSONValue.parse(Array(text.utf8))))
    }

    /// A sheet row's point from its lon and lat cells, or its shape from its WKT cell.
    private func sheetGeometry(_ feature: OGRFeatureH, _ columns: CoordinateColumns) throws -> OGRGeometryH {
        func text(_ i: Int) -> String { String(cString: OGR_F_GetFieldAsString(feature, Int32(i))).trimmingCharacters(in: .whitespaces) }
        switch columns {
        case .lonLat(let lon, let lat):
            func coordinate(_ i: Int) throws -> Double {
                guard OGR_F_IsFieldSetAndNotNull(feature, Int32(i)) != 0, !text(i).isEmpty else { throw RGISError(.invalidValue, "column \(fields[i].name): no coordinate") }
                if fields[i].type == OFTReal || fields[i].type == OFTInteger || fields[i].type == OFTInteger64 { return OGR_F_GetFieldAsDouble(feature, Int32(i)) }
                guard let value = Double(text(i)) else { throw RGISError(.invalidValue, "column \(fields[i].name): '\(text(i))' is not a number") }
                return value
            }
            let point = OGR_G_CreateGeometry(wkbPoint)!
            OGR_G_SetPoint_2D(point, 0, try coordinate(lon), try coordinate(lat))
            return point
        case .wkt(let i):
            var wkt = Array(text(i).utf8CString)
            var geometry: OGRGeometryH?
            let read = wkt.withUnsafeMutableBufferPointer { buffer -> OGRErr in
                var cursor: UnsafeMutablePointer<CChar>? = buffer.baseAddress
                return OGR_G_CreateFromWkt(&cursor, nil, &geometry)
            }
            guard read == OGRERR_NONE, let geometry else { throw RGISError(.invalidValue, "column \(fields[i].name): not WKT\(GDALRuntime.because)") }
            return geometry
        }
    }

    private func value(_ feature: OGRFeatureH, _ i: Int32, _ type: OGRFieldType, boolean: Bool) -> JSONValue {
        switch type {
        case OFTInteger, OFTInteger64:
            let n = OGR_F_GetFieldAsInteger64(feature, i)
            return boolean ? .bool(n != 0) : .int(n)
        case OFTReal:
            return .double(OGR_F_GetFieldAsDouble(feature, i))
        case OFTDate, OFTDateTime:
            var y: Int32 = 0, mo: Int32 = 0, d: Int32 = 0, h: Int32 = 0, mi: Int32 = 0, tz: Int32 = 0
            var s: Float = 0
            guard OGR_F_GetFieldAsDateTimeEx(feature, i, &y, &mo, &d, &h, &mi, &s, &tz) != 0 else {
                return .string(String(cString: OGR_F_GetFieldAsString(feature, i)))
            }
            let date = String(format: "%04d-%02d-%02d", y, mo, d)
            guard type == OFTDateTime else { return .string(date) }
            // GDAL's zone flag: 100 is UTC, 100 ± n a quarter hour each way; 0 and 1 unknown or local.
            let zone: String
            if tz >= 100 {
                let minutes = Int(tz - 100) * 15
                zone = minutes == 0 ? "Z" : String(format: "%@%02d:%02d", minutes < 0 ? "-" : "+", abs(minutes) / 60, abs(minutes) % 60)
            } else {
                zone = ""
            }
            return .string(date + String(format: "T%02d:%02d:%02d", h, mi, Int(s)) + zone)
        default:
            return .string(String(cString: OGR_F_GetFieldAsString(feature, i)))
        }
    }
}
