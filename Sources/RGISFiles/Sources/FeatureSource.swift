import Foundation
import RGISCore
import RGISStore

/// Runs `body`, keeping its error as an ``RGISError`` (any other error is reported as malformed input).
private func capture(_ body: () throws -> LayerRecord) -> Result<LayerRecord, RGISError> {
    do {
        return .success(try body())
    } catch let error as RGISError {
        return .failure(error)
    } catch {
        return .failure(RGISError(.malformedInput, "\(error)"))
    }
}

extension SourceFormat {
    /// Guesses from the extension, then from the first byte (`{` is GeoJSON).
    package static func detect(path: String, firstByte: UInt8?) -> SourceFormat {
        switch (path as NSString).pathExtension.lowercased() {
        case "geojson", "json": return .geojson
        case "csv", "tsv", "txt": return .csv
        default: return firstByte == UInt8(ascii: "{") ? .geojson : .csv
        }
    }

    /// What a file that is neither GeoJSON nor CSV is, from its first bytes (whatever its name says),
    /// or nil when it may be text. Such a file is read through GDAL; the name says what was seen when
    /// GDAL cannot read it either.
    package static func foreignFormat(_ head: ArraySlice<UInt8>) -> String? {
        let bytes = Array(head)
        func starts(_ magic: [UInt8]) -> Bool { bytes.count >= magic.count && Array(bytes[0..<magic.count]) == magic }
        if starts(Array("SQLite format 3\u{0}".utf8)) { return "a SQLite file (a GeoPackage or SpatiaLite database)" }
        if starts([0x50, 0x4B, 0x03, 0x04]) || starts([0x50, 0x4B, 0x05, 0x06]) { return "a zip archive (a zipped Shapefile, XLSX, ODS or KMZ)" }
        if starts([0x00, 0x00, 0x27, 0x0A]) { return "an ESRI Shapefile (.shp)" }
        if starts(Array("fgb".utf8)) && bytes.count > 3 && bytes[3] == 3 { return "a FlatGeobuf file" }
        if starts([0x1F, 0x8B]) { return "a gzip-compressed file" }
        var text = bytes
        if starts([0xEF, 0xBB, 0xBF]) { text.removeFirst(3) }
        let start = String(decoding: text.prefix(512), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if start.hasPrefix("<?xml") || start.hasPrefix("<kml") || start.hasPrefix("<gpx") || start.hasPrefix("<gml") || start.hasPrefix("<wfs") {
            let kind = start.contains("<kml") ? "KML" : start.contains("<gpx") ? "GPX" : start.contains("gml") ? "GML" : "XML"
            return "an XML file (\(kind))"
        }
        if bytes.prefix(4096).contains(0) { return "a binary file (it begins \(bytes.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")))" }
        return nil
    }

    /// The delimiter of a CSV file from its header line: the most frequent of comma, semicolon and tab
    /// outside quotes (comma on a tie), as spreadsheets save it in different locales.
    package static func sniffDelimiter(_ head: ArraySlice<UInt8>) -> UInt8 {
        var counts: [UInt8: Int] = [UInt8(ascii: ","): 0, UInt8(ascii: ";"): 0, UInt8(ascii: "\t"): 0]
        var quoted = false
        for b in head {
            if b == UInt8(ascii: "\"") { quoted.toggle(); continue }
            if !quoted && (b == 0x0A || b == 0x0D) { break }
            if !quoted, counts[b] != nil { counts[b]! += 1 }
        }
        let comma = UInt8(ascii: ",")
        let best = counts.max { a, b in a.value != b.value ? a.value < b.value : a.key != comma && b.key == comma }
        return best.map { $0.value > 0 ? $0.key : comma } ?? comma
    }
}

/// Reads a file in fixed chunks: the importer's memory does not grow with the file.
package func fileChunks(_ handle: FileHandle, chunkSize: Int = 1 << 20) -> ByteStream.ChunkSource {
    return {
        let data = try handle.read(upToCount: chunkSize) ?? Data()
        return data.isEmpty ? nil : [UInt8](data)
    }
}

struct GeoJSONFeatureSource: FeatureSource {
    private var reader: FeatureCollectionReader
    private let builder: LayerRecordBuilder

    init(_ stream: ByteStream, builder: LayerRecordBuilder) {
        self.reader = FeatureCollectionReader(stream)
        self.builder = builder
    }

    var bytesRead: Int { reader.offset }

    mutating func next() throws -> SourceRow? {
        guard let raw = try reader.next() else { return nil }
        let location = "feature \(raw.number) (line \(raw.line))"
        let builder = builder
        return SourceRow(location: location, record: capture { try builder.record(fromFeature: JSONValue.parse(raw.json)) })
    }
}

/// Where a table's geometry is: lon and lat columns, or one of WKT (CSV files and sheets).
enum CoordinateColumns {
    case lonLat(lon: Int, lat: Int)
    case wkt(Int)

    /// What a table without them is told.
    static let expected = "expected lon and lat (or longitude/latitude, x/y) or a WKT column (wkt, geometry); name others with --map COLUMN=lon,COLUMN=lat or --map COLUMN=wkt"

    /// The columns of `header` named so, or mapped to `lon`, `lat` or `wkt`; nil when there are none.
    init?(header: [String], mapping: FieldMapping) {
        func column(_ role: String, _ names: [String]) -> Int? {
            if let mapped = header.firstIndex(where: { mapping.targets[$0] == role }) { return mapped }
            return header.firstIndex { names.contains($0.lowercased()) }
        }
        if let lon = column("lon", ["lon", "lng", "long", "longitude", "x"]), let lat = column("lat", ["lat", "latitude", "y"]) {
            self = .lonLat(lon: lon, lat: lat)
        } else if let wkt = column("wkt", ["wkt", "geometry", "geom", "the_geom", "wkt_geom"]) {
            self = .wkt(wkt)
        } else {
            return nil
        }
    }

    var indexes: [Int] {
        switch self {
        case .lonLat(let lon, let lat): [lon, lat]
        case .wkt(let i): [i]
        }
    }
}

struct CSVFeatureSource: FeatureSource {
    private var reader: CSVReader
    private let builder: LayerRecordBuilder
    private let header: [String]
    private let geometryColumns: CoordinateColumns

    private let decimalComma: Bool

    /// A number written with a decimal comma (and dots between thousands) as Swift reads it, when the
    /// file says so; other text as it is.
    static func decimalPoint(_ text: String) -> String {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard t.range(of: #"^[+-]?(\d+|\d{1,3}(\.\d{3})+)(,\d+)?$"#, options: .regularExpression) != nil else { return text }
        return t.replacingOccurrences(of: ".", with: "").replacingOccurrences(of: ",", with: ".")
    }


    /// `delimiter`: a comma, semicolon or tab; `decimalComma`: numbers are written `9,05` (and
    /// `1.234,5`), as spreadsheets save them where the comma is the decimal mark.
    init(_ stream: ByteStream, builder: LayerRecordBuilder, delimiter: UInt8 = UInt8(ascii: ","), decimalComma: Bool = false) throws {
        self.decimalComma = decimalComma
        var reader = CSVReader(stream, delimiter: delimiter)
        guard let headerRecord = try reader.next() else {
            throw RGISError(.malformedInput, "file is empty")
        }
        let header = headerRecord.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        guard let columns = CoordinateColumns(header: header, mapping: builder.mapping) else {
            throw RGISError(.malformedInput, "CSV has no coordinate columns: \(CoordinateColumns.expected). Columns found: \(header.joined(separator: ", "))", at: "line 1")
        }
        geometryColumns = columns
        self.reader = reader
        self.builder = builder
        self.header = header
    }

    var bytesRead: Int { reader.offset }

    mutating func next() throws -> SourceRow? {
        guard let row = try reader.next() else { return nil }
        return SourceRow(location: "line \(row.line)", record: capture { try record(from: row) })
    }

    private func record(from row: CSVRecord) throws -> LayerRecord {
        guard row.fields.count == header.count else {
            throw RGISError(.malformedInput, "has \(row.fields.count) fields; the header has \(header.count)")
        }
        let geometry: Geometry
        var geometryIndexes: Set<Int>
        switch geometryColumns {
        case .lonLat(let lonIndex, let latIndex):
            func coordinate(_ i: Int) throws -> Double {
                let text = row.fields[i].trimmingCharacters(in: .whitespaces)
                guard !text.isEmpty else { throw RGISError(.invalidValue, "column \(header[i]): no coordinate") }
                guard let value = Double(decimalComma ? Self.decimalPoint(text) : text) else {
                    let hint = !decimalComma && text.range(of: #"^[+-]?\d+,\d+$"#, options: .regularExpression) != nil
                        ? " (a decimal comma? pass --decimal-comma)" : ""
                    throw RGISError(.invalidValue, "column \(header[i]): '\(text)' is not a number\(hint)")
                }
                return value
            }
            geometry = .point(Position(lon: try coordinate(lonIndex), lat: try coordinate(latIndex)))
            geometryIndexes = [lonIndex, latIndex]
        case .wkt(let i):
            do {
                geometry = try Geometry(wkt: row.fields[i])
            } catch let error as RGISError {
                throw RGISError(error.code, "column \(header[i]): \(error.reason)")
            }
            geometryIndexes = [i]
        }
        var properties: [String: JSONValue] = [:]
        for (i, name) in header.enumerated() where !geometryIndexes.contains(i) {
            let field = CSVText.unneutralised(row.fields[i])
            let text = decimalComma ? Self.decimalPoint(field) : field
            properties[name] = text.isEmpty ? .null : .string(text)
        }
        return try builder.record(idMember: nil, properties: properties, geometry: geometry)
    }
}
