import RGISCore

/// How to read a file into a layer.
public struct ImportOptions: Sendable {
    public var layer: Layer
    /// The CRS of the file's coordinates; anything but EPSG:4326 is transformed by PROJ.
    public var sourceSRID: SRID = .wgs84
    public var mapping = FieldMapping()
    public var idField: String?
    /// Import the good rows and list the rejected ones, instead of refusing the whole file.
    public var skipInvalid = false
    /// Replace records whose id is already stored, instead of refusing the file.
    public var upsert = false
    /// Search radius for demands given as a point without `radius_m`.
    public var defaultRadiusMetres: Double?
    /// Forces the format instead of guessing it from the name and the first byte.
    public var format: SourceFormat?
    /// CSV numbers are written with a decimal comma (`9,05`, `1.234,5`).
    public var decimalComma = false
    /// The layer to read from a file that holds several (a GeoPackage, a FileGDB), by name.
    public var sourceLayer: String?

    public init(layer: Layer) { self.layer = layer }

    package var recordBuilder: LayerRecordBuilder {
        LayerRecordBuilder(layer: layer, mapping: mapping, idField: idField,
                           defaultRadiusMetres: defaultRadiusMetres, sourceSRID: sourceSRID)
    }
}

/// What an import did.
public struct ImportReport: Sendable {
    /// A feature that was not imported, and why.
    public struct Rejection: Sendable {
        public let location: String
        public let reason: String

        package init(location: String, reason: String) {
            self.location = location
            self.reason = reason
        }
    }

    public var rowsRead = 0
    public var inserted = 0
    public var updated = 0
    /// The first ``maxListedRejections`` rejections; ``rejectedCount`` counts them all.
    public var rejected: [Rejection] = []
    public var rejectedCount = 0
    public var seconds = 0.0
    /// What GDAL read, for a file that is neither GeoJSON nor CSV (`ESRI Shapefile layer 'plots', EPSG:25832 → EPSG:4326`).
    public var source: String?

    public static let maxListedRejections = 1000

    public var imported: Int { inserted + updated }

    package init() {}

    package mutating func reject(_ location: String, _ reason: String) {
        rejectedCount += 1
        if rejected.count < Self.maxListedRejections {
            rejected.append(Rejection(location: location, reason: reason))
        }
    }
}

/// Progress of a running import, for a progress bar.
public struct ImportProgress: Sendable {
    public let rowsRead: Int
    public let bytesRead: Int
    /// Nil when the size is unknown (standard input).
    public let totalBytes: Int?

    package init(rowsRead: Int, bytesRead: Int, totalBytes: Int?) {
        self.rowsRead = rowsRead
        self.bytesRead = bytesRead
        self.totalBytes = totalBytes
    }
}
