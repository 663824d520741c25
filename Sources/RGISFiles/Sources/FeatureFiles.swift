import Foundation
import RGISCore
import RGISStore

/// Opens a file of features for a store to import: what the content is (whatever the name says), a
/// reader for it (GeoJSON and CSV streamed here, anything else through GDAL), read a few batches
/// ahead on a thread of its own.
public enum FeatureFiles {
    /// - Parameters:
    ///   - path: a file, a FileGDB directory, or `-` for standard input.
    ///   - store: the store the features are for: one of its own files is refused before it is opened
    ///     (opening and closing it beside the store would drop the store's locks on it).
    public static func open(_ path: String, options: ImportOptions, for store: (any StoreMaintenance)? = nil) throws -> FeatureInput {
        let name = path == "-" ? "<stdin>" : path
        try store?.refuseOwnFile(path, as: "import from")
        let handle: FileHandle
        var totalBytes: Int?
        // A FileGDB is a directory, which GDAL reads whole.
        var geodatabase = false
        if path == "-" {
            handle = .standardInput
        } else {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw RGISError(.notFound, "no such file", at: name)
            }
            geodatabase = isDirectory.boolValue && (path as NSString).pathExtension.lowercased() == "gdb"
            guard !isDirectory.boolValue || geodatabase else { throw RGISError(.io, "is a directory, not a file", at: name) }
            guard let opened = geodatabase ? FileHandle(forReadingAtPath: "/dev/null") : FileHandle(forReadingAtPath: path) else {
                throw RGISError(.io, "cannot be opened for reading", at: name)
            }
            handle = opened
            totalBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        }
        let closeHandle = { if path != "-" { try? handle.close() } }

        var stream = ByteStream(fileChunks(handle))
        let head = (try? stream.peek(upTo: 8192)) ?? []
        // What the content says it is (whatever the name says): anything but GeoJSON and CSV goes to GDAL.
        let seen = geodatabase ? "a FileGDB directory" : SourceFormat.foreignFormat(head)
        let format = options.format ?? (seen != nil ? .gdal : SourceFormat.detect(path: path, firstByte: head.first))
        do {
            if format == .gdal && path == "-" {
                throw RGISError(.invalidValue, "is \(seen ?? "not GeoJSON or CSV"); GDAL reads files by path: give the file instead of standard input")
            }
            // GDAL transforms to EPSG:4326 itself, from the file's CRS (else --srid).
            var readOptions = options
            if format == .gdal { readOptions.sourceSRID = .wgs84 }
            let builder = readOptions.recordBuilder
            let file: any FeatureSource = switch format {
            case .geojson: GeoJSONFeatureSource(stream, builder: builder)
            case .csv: try CSVFeatureSource(stream, builder: builder, delimiter: SourceFormat.sniffDelimiter(head), decimalComma: options.decimalComma)
            case .gdal: try OGRFeatureSource(path: path, head: head, sourceLayer: options.sourceLayer, fallbackSRID: options.sourceSRID, builder: builder, seen: seen)
            }
            let prefetched = PrefetchedSource(file)
            return FeatureInput(name: name, path: path == "-" ? nil : path, totalBytes: totalBytes, sourceSRID: readOptions.sourceSRID,
                                description: (file as? OGRFeatureSource)?.description, source: prefetched,
                                onStop: { prefetched.stop(); closeHandle() })
        } catch let error as RGISError {
            closeHandle()
            throw error.located(name)
        }
    }
}

extension StoreMaintenance {
    /// Imports a file's features (see ``FeatureFiles/open(_:options:for:)`` and
    /// ``StoreMaintenance/importFeatures(from:options:progress:)``).
    public func importFeatures(from path: String, options: ImportOptions,
                               progress: ((ImportProgress) -> Void)? = nil) async throws -> ImportReport {
        try await importFeatures(from: try FeatureFiles.open(path, options: options, for: self), options: options, progress: progress)
    }
}
