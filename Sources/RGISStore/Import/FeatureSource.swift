import Foundation
import RGISCore

/// One feature read from a source file: where it was, and the record or the reason it was refused.
struct SourceRow {
    /// `feature 12 (line 40)` or `line 7`.
    let location: String
    let record: Result<LayerRecord, RGISError>
}

/// A file of features read one at a time. Errors that end the reading (the file cannot be parsed past
/// this point) are thrown; errors in one feature come back in its row so `--skip-invalid` can go on.
protocol FeatureSource {
    mutating func next() throws -> SourceRow?
    var bytesRead: Int { get }
}

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

/// The file formats an import reads.
public enum SourceFormat: String, Sendable, CaseIterable {
    case geojson, csv

    /// Guesses from the extension, then from the first byte (`{` is GeoJSON).
    static func detect(path: String, firstByte: UInt8?) -> SourceFormat {
        switch (path as NSString).pathExtension.lowercased() {
        case "geojson", "json": return .geojson
        case "csv", "tsv", "txt": return .csv
        default: return firstByte == UInt8(ascii: "{") ? .geojson : .csv
        }
    }
}

/// Reads a file in fixed chunks: the importer's memory does not grow with the file.
func fileChunks(_ handle: FileHandle, chunkSize: Int = 1 << 20) -> ByteStream.ChunkSource {
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

struct CSVFeatureSource: FeatureSource {
    private var reader: CSVReader
    private let builder: LayerRecordBuilder
    private let header: [String]
    private let geometryColumns: GeometryColumns

    enum GeometryColumns {
        case lonLat(lon: Int, lat: Int)
        case wkt(Int)
    }

    init(_ stream: ByteStream, builder: LayerRecordBuilder) throws {
        var reader = CSVReader(stream)
        guard let headerRecord = try reader.next() else {
            throw RGISError(.malformedInput, "file is empty")
        }
        let header = headerRecord.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        func column(_ role: String, _ names: [String]) -> Int? {
            if let mapped = header.firstIndex(where: { builder.mapping.targets[$0] == role }) { return mapped }
            return header.firstIndex { names.contains($0.lowercased()) }
        }
        if let lon = column("lon", ["lon", "lng", "long", "longitude", "x"]),
           let lat = column("lat", ["lat", "latitude", "y"]) {
            geometryColumns = .lonLat(lon: lon, lat: lat)
        } else if let wkt = column("wkt", ["wkt", "geometry", "geom", "the_geom", "wkt_geom"]) {
            geometryColumns = .wkt(wkt)
        } else {
            throw RGISError(.malformedInput, """
                CSV has no coordinate columns: expected lon and lat (or longitude/latitude, x/y) or a WKT \
                column (wkt, geometry); name others with --map COLUMN=lon,COLUMN=lat or --map COLUMN=wkt. \
                Columns found: \(header.joined(separator: ", "))
                """, at: "line 1")
        }
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
                guard let value = Double(text) else {
                    throw RGISError(.invalidValue, "column \(header[i]): '\(text)' is not a number")
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
            let text = row.fields[i]
            properties[name] = text.isEmpty ? .null : .string(text)
        }
        return try builder.record(idMember: nil, properties: properties, geometry: geometry)
    }
}
