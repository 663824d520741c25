import RGISCore

/// One feature read from a source file: where it was, and the record or the reason it was refused.
public struct SourceRow: Sendable {
    /// `feature 12 (line 40)` or `line 7`.
    public let location: String
    public let record: Result<LayerRecord, RGISError>

    public init(location: String, record: Result<LayerRecord, RGISError>) {
        self.location = location
        self.record = record
    }
}

/// A file of features read one at a time. Errors that end the reading (the file cannot be parsed past
/// this point) are thrown; errors in one feature come back in its row so `--skip-invalid` can go on.
public protocol FeatureSource {
    mutating func next() throws -> SourceRow?
    var bytesRead: Int { get }
}

/// The file formats an import reads.
public enum SourceFormat: String, Sendable, CaseIterable {
    /// `gdal`: any vector format GDAL reads (Shapefile, GeoPackage, FlatGeobuf, KML, GPX, GML, FileGDB).
    case geojson, csv, gdal
}

/// A file's features on their way into a store: opened and read by the files module (GeoJSON, CSV,
/// anything GDAL reads), each row already a validated record or the reason it is not one. A store
/// reads it once, from start to end, then calls ``stop()``; one import at a time reads it.
public final class FeatureInput {
    /// What to call the input in messages: the path, or `<stdin>`.
    public let name: String
    /// The file read, if it is one: a store refuses to import its own files.
    public let path: String?
    /// The input's size, for progress; nil when unknown (standard input).
    public let totalBytes: Int?
    /// The CRS of the records' coordinates (a store transforms anything else to EPSG:4326).
    public let sourceSRID: SRID
    /// What was read, when it needs saying (`ESRI Shapefile layer 'plots', EPSG:25832 → EPSG:4326`).
    public let description: String?
    private var source: any FeatureSource
    private let onStop: () -> Void

    public init(name: String, path: String?, totalBytes: Int?, sourceSRID: SRID, description: String?,
                source: any FeatureSource, onStop: @escaping () -> Void = {}) {
        self.name = name
        self.path = path
        self.totalBytes = totalBytes
        self.sourceSRID = sourceSRID
        self.description = description
        self.source = source
        self.onStop = onStop
    }

    /// The next row, or nil at the end.
    public func next() throws -> SourceRow? { try source.next() }

    /// Bytes of the input read so far.
    public var bytesRead: Int { source.bytesRead }

    /// Ends the reading (also after a failure): nothing reads the file afterwards.
    public func stop() { onStop() }
}
