import RGISCore
import RGISStore

/// The body of `POST /archive/events`: one change to the archive, the same as an `rgis archive` command.
///
///     {"kind": "transfer", "parcel": "760", "to": "P1", "from": "P0", "share": "1/2", "type": "ownership", "date": "2016-03-01"}
///     {"kind": "split", "parcel": "760", "line": {GeoJSON LineString}, "new_ids": ["760a", "760b"], "date": "2018-06-01"}
///     {"kind": "merge", "parcels": ["760-1", "365"], "new_id": "M1", "allow_disjoint": false, "date": "2019-02-01"}
///     {"kind": "correction", "event": 12, "to": "P2"}  or  {"kind": "correction", "parcel": "760", "geometry": {Polygon}}
///     {"kind": "new_building", "building": "B9", "parcel": "760", "geometry": {Polygon}, "date": "2020-01-01"}
///     {"kind": "demolition", "building": "B9", "date": "2024-01-01"}
///
/// Every change may carry `recorded_at` (default now) and `document`.
struct ArchiveEventBody {
    let body: JSONValue

    func string(_ key: String, required: Bool = true) throws -> String? {
        switch body[key] {
        case .string(let s)? where !s.isEmpty: return s
        case nil, .null?:
            if required { throw RGISError(.malformedInput, "\(key) is required", at: "body.\(key)") }
            return nil
        case let other?: throw RGISError(.malformedInput, "\(key) must be a non-empty string, found \(other.typeName)", at: "body.\(key)")
        }
    }

    func strings(_ key: String, required: Bool) throws -> [String]? {
        guard let value = body[key], !value.isNull else {
            if required { throw RGISError(.malformedInput, "\(key) is required", at: "body.\(key)") }
            return nil
        }
        guard case .array(let items) = value, let texts = Optional(items.compactMap { if case .string(let s) = $0 { s } else { nil } }),
              texts.count == items.count else {
            throw RGISError(.malformedInput, "\(key) must be an array of strings", at: "body.\(key)")
        }
        return texts
    }

    func geometry(_ key: String, _ kinds: Set<Geometry.Kind>) throws -> Geometry {
        guard let value = body[key] else { throw RGISError(.malformedInput, "\(key) is required (GeoJSON)", at: "body.\(key)") }
        do {
            return try Geometry(singleGeoJSON: value, accepting: kinds, role: key)
        } catch let error as RGISError {
            throw error.located("body.\(key)")
        }
    }

    func recordedAt() throws -> RecordTime {
        try string("recorded_at", required: false).map { try RecordTime(parsing: $0, field: "recorded_at", day: .startOfDay) } ?? .now
    }

    func record() throws -> ArchiveRecord {
        ArchiveRecord(date: try ValidDate(parsing: try string("date")!, field: "date"), recordedAt: try recordedAt(),
                      document: try string("document", required: false))
    }

    /// Applies the change; returns what it did.
    func apply(to archive: ArchiveRegister) throws -> ArchiveChange {
        guard case .object = body else { throw RGISError(.malformedInput, "the body must be a JSON object", at: "body") }
        let kind = try string("kind")!
        switch kind {
        case "transfer":
            var transfer = Transfer(parcel: try string("parcel")!, to: try string("to")!, from: try string("from", required: false),
                                    share: try Share(parsing: try string("share", required: false) ?? "1"),
                                    type: try RightType(parsing: try string("type", required: false) ?? "ownership"))
            if let partyKind = try string("party_kind", required: false) {
                guard ["person", "organisation"].contains(partyKind) else {
                    throw RGISError(.invalidValue, "party_kind must be person or organisation", at: "body.party_kind")
                }
                transfer.partyKind = partyKind
            }
            return try archive.transfer(transfer, record: try record())
        case "split":
            return try archive.split(parcel: try string("parcel")!, line: try geometry("line", [.lineString, .multiLineString]),
                                     newIDs: try strings("new_ids", required: false), record: try record())
        case "merge":
            var allowDisjoint = false
            if let value = body["allow_disjoint"] {
                guard case .bool(let b) = value else { throw RGISError(.malformedInput, "allow_disjoint must be true or false", at: "body.allow_disjoint") }
                allowDisjoint = b
            }
            return try archive.merge(parcels: try strings("parcels", required: true)!, newID: try string("new_id", required: false),
                                     allowDisjoint: allowDisjoint, record: try record())
        case "correction":
            if let event = body["event"] {
                guard case .int(let id) = event else { throw RGISError(.malformedInput, "event must be an event id (integer)", at: "body.event") }
                return try archive.correctTransfer(event: id, to: try string("to")!, recordedAt: try recordedAt(),
                                                   document: try string("document", required: false))
            }
            let shape = try geometry("geometry", [.polygon, .multiPolygon])
            if let building = try string("building", required: false) {
                return try archive.correctGeometry(.buildings, id: building, geometry: shape, recordedAt: try recordedAt(),
                                                   document: try string("document", required: false))
            }
            return try archive.correctGeometry(.parcels, id: try string("parcel")!, geometry: shape, recordedAt: try recordedAt(),
                                               document: try string("document", required: false))
        case "new_building":
            return try archive.addBuilding(id: try string("building")!, parcel: try string("parcel", required: false),
                                           geometry: try geometry("geometry", [.polygon, .multiPolygon]), record: try record())
        case "demolition":
            return try archive.demolish(building: try string("building")!, record: try record())
        default:
            throw RGISError(.invalidValue, "kind '\(kind)' is not one of transfer, split, merge, correction, new_building, demolition",
                            at: "body.kind")
        }
    }
}
