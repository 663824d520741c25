import Foundation
import RGISCore
import RGISStore

/// Opens the files that feed a store's history: a market's dated changes (CSV with the header
/// ``ChangeHistory/columns``) and the polygons of a property-archive registration (GeoJSON). Each row
/// is checked here against its rules; the store looks records up and writes.
public enum HistoryFiles {
    /// A CSV of dated changes, its header checked at once. A row dated after `now`'s day is refused:
    /// a history holds what happened.
    public static func changes(_ path: String, now: Date = Date(), for store: (any StoreMaintenance)? = nil) throws -> ChangeInput {
        let handle = try openForReading(path, for: store)
        var reader = CSVReader(ByteStream(fileChunks(handle)))
        let today = ISODate.today(now).text
        do {
            guard let header = try reader.next() else { throw RGISError(.invalidValue, "is empty; a header line is needed: \(ChangeHistory.columns.joined(separator: ","))") }
            guard header.fields.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) == ChangeHistory.columns else {
                throw RGISError(.invalidValue, "line 1: the header is '\(header.fields.joined(separator: ","))'; it must be \(ChangeHistory.columns.joined(separator: ","))")
            }
        } catch let error as RGISError {
            try? handle.close()
            throw error.located(path)
        }
        return ChangeInput(name: path, path: path, next: {
            guard let row = try reader.next() else { return nil }
            return try change(row, today: today)
        }, onStop: { try? handle.close() })
    }

    /// The Polygon and MultiPolygon features of a GeoJSON FeatureCollection, ids from the property
    /// `idField`, else the feature's `id`; a building's parcel from the property `parcelField`.
    public static func archiveFeatures(_ path: String, idField: String?, parcelField: String?,
                                       for store: (any StoreMaintenance)? = nil) throws -> ArchiveFeatureInput {
        let handle = try openForReading(path, for: store)
        var reader = FeatureCollectionReader(ByteStream(fileChunks(handle)))
        return ArchiveFeatureInput(name: path, path: path, next: {
            guard let raw = try reader.next() else { return nil }
            let location = "feature \(raw.number) (line \(raw.line))"
            do {
                let feature = try JSONValue.parse(raw.json)
                var properties: [String: JSONValue] = [:]
                if case .object(let object)? = feature["properties"] { properties = object }
                let idValue = idField.map { properties[$0] ?? .null } ?? feature["id"] ?? .null
                guard let id = idValue.identifierText else {
                    throw RGISError(.invalidValue, idField.map { "property \($0) holds no id" } ?? "feature has no id (name the id property with --id-field)")
                }
                try RecordID.check(id, at: idField.map { "property \($0)" } ?? "id")
                let geometry = try Geometry(singleGeoJSON: feature, accepting: [.polygon, .multiPolygon], role: "geometry")
                return ArchiveFeature(id: id, geometry: geometry, properties: properties,
                                      parcel: parcelField.flatMap { properties[$0]?.identifierText }, location: location)
            } catch let error as RGISError {
                throw error.located(location)
            }
        }, onStop: { try? handle.close() })
    }

    private static func openForReading(_ path: String, for store: (any StoreMaintenance)?) throws -> FileHandle {
        try store?.refuseOwnFile(path, as: "import from")
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw RGISError(FileManager.default.fileExists(atPath: path) ? .io : .notFound,
                            FileManager.default.fileExists(atPath: path) ? "cannot be opened for reading" : "no such file", at: path)
        }
        return handle
    }

    private static func change(_ row: CSVRecord, today: String) throws -> DatedChange {
        func fail(_ field: String, _ rule: String) -> RGISError { RGISError(.invalidValue, "line \(row.line): field \(field): \(rule)") }
        guard row.fields.count == ChangeHistory.columns.count else {
            throw RGISError(.invalidValue, "line \(row.line): \(row.fields.count) fields; a change has \(ChangeHistory.columns.count) (\(ChangeHistory.columns.joined(separator: ",")))")
        }
        let f = row.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        guard let layer = Layer(rawValue: f[0]), layer == .listings || layer == .demands else {
            throw fail("layer", "'\(f[0])' is not listings or demands")
        }
        guard !f[1].isEmpty else { throw fail("record_id", "is empty") }
        guard f[2] == "price_change" || f[2] == "status_change" else {
            throw fail("kind", "'\(f[2])' is not price_change or status_change")
        }
        let old = f[3].isEmpty ? nil : f[3], new = f[4].isEmpty ? nil : f[4]
        if f[2] == "price_change" {
            for (name, value) in [("old_value", old), ("new_value", new)] {
                if let value, !(Double(value).map { $0.isFinite && $0 >= 0 } ?? false) {
                    throw fail(name, "'\(value)' is not a price (a number, zero or more)")
                }
            }
        } else {
            let statuses = layer == .listings ? ListingStatus.allCases.map(\.rawValue) : DemandStatus.allCases.map(\.rawValue)
            for (name, value) in [("old_value", old), ("new_value", new)] {
                guard let value else { throw fail(name, "a status change names both statuses") }
                if !statuses.contains(value) { throw fail(name, "'\(value)' is not a \(layer == .listings ? "listing" : "demand") status (\(statuses.joined(separator: ", ")))") }
            }
        }
        guard let at = ISODate(parsing: f[5]) else { throw fail("at", "'\(f[5])' is not a date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)") }
        guard at.text.prefix(10) <= today else { throw fail("at", "\(at.text) is after today; a history holds what happened") }
        return DatedChange(layer: layer, recordID: f[1], kind: f[2], old: old, new: new,
                           at: at.text.count == 10 ? at.text + "T00:00:00Z" : at.text, location: "line \(row.line)")
    }
}

extension StoreMaintenance {
    /// Imports a CSV of dated changes (see ``HistoryFiles/changes(_:now:for:)``).
    public func importEvents(from path: String) async throws -> EventImportReport {
        try await importEvents(from: try HistoryFiles.changes(path, for: self))
    }

    /// Registers a GeoJSON file's polygons (see ``HistoryFiles/archiveFeatures(_:idField:parcelField:for:)``).
    public func registerArchive(_ layer: ArchiveLayer, fromFile path: String, idField: String?, record: ArchiveRecord,
                                parcelField: String?) async throws -> ArchiveChange {
        try await registerArchive(layer, from: try HistoryFiles.archiveFeatures(path, idField: idField, parcelField: parcelField, for: self),
                                  record: record)
    }
}
