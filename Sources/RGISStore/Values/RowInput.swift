import RGISCore

/// One dated change of a stored listing or demand, from a market's history: checked against the
/// rules of ``ChangeHistory`` by the reader, so a store only looks up the record and writes it.
public struct DatedChange: Sendable, Equatable {
    public let layer: Layer
    public let recordID: String
    /// `price_change` or `status_change`.
    public let kind: String
    public let old: String?
    public let new: String?
    /// `YYYY-MM-DDThh:mm:ssZ`, as the store writes its own events' times.
    public let at: String
    /// Where it was read, for messages (`line 7`).
    public let location: String

    public init(layer: Layer, recordID: String, kind: String, old: String?, new: String?, at: String, location: String) {
        self.layer = layer
        self.recordID = recordID
        self.kind = kind
        self.old = old
        self.new = new
        self.at = at
        self.location = location
    }
}

/// Rows of a file on their way into a store, opened and checked row by row by the files module: a
/// row that breaks a rule is thrown by ``next()``, naming where it was. A store reads it once, from
/// start to end, then calls ``stop()``.
public final class RowInput<Row> {
    /// What to call the input in messages: its path.
    public let name: String
    /// The file read: a store refuses to import its own files.
    public let path: String?
    private let read: () throws -> Row?
    private let onStop: () -> Void

    public init(name: String, path: String?, next read: @escaping () throws -> Row?, onStop: @escaping () -> Void = {}) {
        self.name = name
        self.path = path
        self.read = read
        self.onStop = onStop
    }

    /// The next row, or nil at the end.
    public func next() throws -> Row? { try read() }

    /// Ends the reading (also after a failure).
    public func stop() { onStop() }
}

/// A market's history on its way into a store.
public typealias ChangeInput = RowInput<DatedChange>

/// A file's polygons on their way into the property archive.
public typealias ArchiveFeatureInput = RowInput<ArchiveFeature>

/// A polygon to register in the property archive, read from a file: its id, geometry and properties
/// (and the parcel a building stands on, when the file names it).
public struct ArchiveFeature: Sendable {
    public let id: String
    public let geometry: Geometry
    public let properties: [String: JSONValue]
    public let parcel: String?
    /// Where it was read, for messages (`feature 12 (line 40)`).
    public let location: String

    public init(id: String, geometry: Geometry, properties: [String: JSONValue], parcel: String?, location: String) {
        self.id = id
        self.geometry = geometry
        self.properties = properties
        self.parcel = parcel
        self.location = location
    }
}
