import RGISCore

// What the operator's operations on a store (``StoreMaintenance``) report, the same from every backend.

/// What a backup wrote.
public struct BackupReport: Sendable {
    public var path: String
    public var bytes: Int
    public var seconds: Double
    /// Rows per layer in the copy.
    public var layers: [(Layer, Int)]
    /// The last change event the copy holds (what a reader of it knows up to).
    public var lastEvent: Int64

    package init(path: String, bytes: Int, seconds: Double, layers: [(Layer, Int)], lastEvent: Int64) {
        self.path = path
        self.bytes = bytes
        self.seconds = seconds
        self.layers = layers
        self.lastEvent = lastEvent
    }
}

/// A problem `rgis check` found.
public struct CheckProblem: Sendable, CustomStringConvertible {
    /// `integrity`, `listings`, …
    public let scope: String
    public let message: String
    public var description: String { "\(scope): \(message)" }

    package init(scope: String, message: String) {
        self.scope = scope
        self.message = message
    }
}

/// What a layer holds.
public struct LayerInfo: Sendable {
    public let layer: Layer
    public let count: Int
    /// Nil for an empty layer.
    public let extent: BBox?
    public let srid: SRID
    public let geometryType: String
    public let spatialIndex: Bool

    package init(layer: Layer, count: Int, extent: BBox?, srid: SRID, geometryType: String, spatialIndex: Bool) {
        self.layer = layer
        self.count = count
        self.extent = extent
        self.srid = srid
        self.geometryType = geometryType
        self.spatialIndex = spatialIndex
    }
}

/// What a store holds.
public struct DatabaseInfo: Sendable {
    /// The store's location, as it was opened.
    public let path: String
    public let schemaVersion: String
    public let layers: [LayerInfo]
    public let clients: Int
    public let events: Int
    public let fileBytes: Int

    package init(path: String, schemaVersion: String, layers: [LayerInfo], clients: Int, events: Int, fileBytes: Int) {
        self.path = path
        self.schemaVersion = schemaVersion
        self.layers = layers
        self.clients = clients
        self.events = events
        self.fileBytes = fileBytes
    }
}

/// What an import of dated changes did.
public struct EventImportReport: Sendable, Equatable {
    public var rowsRead = 0
    public var recorded = 0
    /// Rows already recorded (the same record, kind, values and time): a file imported twice adds nothing.
    public var alreadyRecorded = 0

    package init(rowsRead: Int = 0, recorded: Int = 0, alreadyRecorded: Int = 0) {
        self.rowsRead = rowsRead
        self.recorded = recorded
        self.alreadyRecorded = alreadyRecorded
    }
}
