import CGDAL
import Foundation
import RGISCore

/// A table without geometry (series, segments) as an XLSX sheet, through GDAL: a header row, then one
/// row per record; a column of numbers only is numeric, others text.
public enum SheetFile {
    /// `rows` under `header`, each a row of cells (nil: empty), written as one sheet named `name`.
    public static func xlsx(name: String, header: [String], rows: [[JSONValue?]]) throws -> [UInt8] {
        _ = GDALRuntime.ready
        CPLErrorReset()
        let path = "/vsimem/rgis-\(UUID().uuidString).xlsx"
        defer { VSIUnlink(path) }
        guard let driver = GDALGetDriverByName("XLSX"), let dataset = GDALCreate(driver, path, 0, 0, 0, GDT_Unknown, nil) else {
            throw RGISError(.invalidValue, "the installed GDAL cannot write XLSX\(GDALRuntime.because)")
        }
        var closed = false
        defer { if !closed { GDALClose(dataset) } }
        guard let layer = GDALDatasetCreateLayer(dataset, name, nil, wkbNone, nil) else {
            throw RGISError(.invalidValue, "GDAL cannot make the sheet \(name)\(GDALRuntime.because)")
        }
        for (i, column) in header.enumerated() {
            let kind = OGRFeatureWriter.PropertyKind(jsonTypes: rows.compactMap { $0[i].map(OGRFeatureWriter.PropertyKind.jsonType) })
            let field = OGR_Fld_Create(column, kind == .integer ? OFTInteger64 : kind == .real ? OFTReal : OFTString)
            defer { OGR_Fld_Destroy(field) }
            guard OGR_L_CreateField(layer, field, 1) == OGRERR_NONE else { throw RGISError(.invalidValue, "GDAL cannot add the column \(column)\(GDALRuntime.because)") }
        }
        let definition = OGR_L_GetLayerDefn(layer)
        for row in rows {
            let feature = OGR_F_Create(definition)
            defer { OGR_F_Destroy(feature) }
            for (i, cell) in row.enumerated() {
                switch cell {
                case nil, .null?: OGR_F_SetFieldNull(feature, Int32(i))
                case .int(let v)?: OGR_F_SetFieldInteger64(feature, Int32(i), v)
                case .double(let v)?: OGR_F_SetFieldDouble(feature, Int32(i), v)
                case .string(let v)?: OGR_F_SetFieldString(feature, Int32(i), v)
                case let other?: OGR_F_SetFieldString(feature, Int32(i), other.jsonText)
                }
            }
            guard OGR_L_CreateFeature(layer, feature) == OGRERR_NONE else { throw RGISError(.invalidValue, "GDAL cannot write a row\(GDALRuntime.because)") }
        }
        closed = true
        GDALClose(dataset)
        var length: vsi_l_offset = 0
        guard CPLGetLastErrorType().rawValue < CE_Failure.rawValue, let buffer = VSIGetMemFileBuffer(path, &length, 0) else {
            throw RGISError(.invalidValue, "GDAL wrote no XLSX file\(GDALRuntime.because)")
        }
        return [UInt8](UnsafeBufferPointer(start: buffer, count: Int(length)))
    }

    /// A CSV table (as the series and segments write it) as an XLSX sheet: numbers stay numbers.
    public static func xlsx(name: String, csv: String) throws -> [UInt8] {
        var reader = CSVReader(ByteStream(bytes: Array(csv.utf8)))
        guard let header = try reader.next()?.fields else { return try xlsx(name: name, header: [], rows: []) }
        var rows: [[JSONValue?]] = []
        while let record = try reader.next() {
            rows.append(record.fields.map { text -> JSONValue? in
                if text.isEmpty { return nil }
                if let n = Int64(text) { return .int(n) }
                if let d = Double(text), d.isFinite { return .double(d) }
                return .string(text)
            })
        }
        return try xlsx(name: name, header: header, rows: rows)
    }
}
