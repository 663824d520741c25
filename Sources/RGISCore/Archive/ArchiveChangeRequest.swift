/// One change to the archive, as `rgis archive …` and `POST /archive/events` ask for it: built once
/// from the caller's words (``init(json:)`` for the HTTP body, the CLI from its options), applied by the
/// store in one transaction.
public enum ArchiveChangeRequest: Sendable {
    case transfer(Transfer, ArchiveRecord)
    case split(parcel: String, line: Geometry, newIDs: [String]?, ArchiveRecord)
    case merge(parcels: [String], newID: String?, allowDisjoint: Bool, ArchiveRecord)
    case correctTransfer(event: Int64, to: String, recordedAt: RecordTime, document: String?)
    case correctGeometry(ArchiveLayer, id: String, geometry: Geometry, recordedAt: RecordTime, document: String?)
    case addBuilding(id: String, parcel: String?, geometry: Geometry, ArchiveRecord)
    case demolish(building: String, ArchiveRecord)
}

/// A transfer of a share of a right. Without `from` it grants a new right (a first registration, a
/// lease, a mortgage); with `from` it moves the share from that party, who keeps any remainder.
public struct Transfer: Sendable {
    public var parcel: String
    public var to: String
    public var from: String?
    public var share: Share
    public var type: RightType
    /// Stored for a party the archive does not know yet.
    public var partyKind: String = "person"
    /// The receiving party's name (personal data: shown only to regulators and admins), stored the
    /// first time it is given.
    public var partyName: String?

    public init(parcel: String, to: String, from: String? = nil, share: Share = .whole, type: RightType = .ownership) {
        self.parcel = parcel
        self.to = to
        self.from = from
        self.share = share
        self.type = type
    }
}

extension ArchiveChangeRequest {
    /// Reads the JSON form of a change:
    ///
    ///     {"kind": "transfer", "parcel": "760", "to": "P1", "from": "P0", "share": "1/2", "type": "ownership", "date": "2016-03-01",
    ///      "party_name": "Jana Nováková"}
    ///     {"kind": "split", "parcel": "760", "line": {GeoJSON LineString}, "new_ids": ["760a", "760b"], "date": "2018-06-01"}
    ///     {"kind": "merge", "parcels": ["760-1", "365"], "new_id": "M1", "allow_disjoint": false, "date": "2019-02-01"}
    ///     {"kind": "correction", "event": 12, "to": "P2"}  or  {"kind": "correction", "parcel": "760", "geometry": {Polygon}}
    ///     {"kind": "new_building", "building": "B9", "parcel": "760", "geometry": {Polygon}, "date": "2020-01-01"}
    ///     {"kind": "demolition", "building": "B9", "date": "2024-01-01"}
    ///
    /// Every change may carry `recorded_at` (default now) and `document`. Errors name `body.<member>`.
    public init(json body: JSONValue) throws {
        let reader = ChangeReader(body: body)
        guard case .object = body else { throw RGISError(.malformedInput, "the body must be a JSON object", at: "body") }
        let kind = try reader.string("kind")!
        switch kind {
        case "transfer":
            var transfer = Transfer(parcel: try reader.id("parcel")!, to: try reader.id("to")!, from: try reader.id("from", required: false),
                                    share: try Share(parsing: try reader.string("share", required: false) ?? "1"),
                                    type: try RightType(parsing: try reader.string("type", required: false) ?? "ownership"))
            if let partyKind = try reader.string("party_kind", required: false) {
                guard ["person", "organisation"].contains(partyKind) else {
                    throw RGISError(.invalidValue, "party_kind must be person or organisation", at: "body.party_kind")
                }
                transfer.partyKind = partyKind
            }
            transfer.partyName = try reader.string("party_name", required: false)
            self = .transfer(transfer, try reader.record())
        case "split":
            self = .split(parcel: try reader.id("parcel")!, line: try reader.geometry("line", [.lineString, .multiLineString]),
                          newIDs: try reader.ids("new_ids", required: false), try reader.record())
        case "merge":
            var allowDisjoint = false
            if let value = body["allow_disjoint"] {
                guard case .bool(let b) = value else { throw RGISError(.malformedInput, "allow_disjoint must be true or false", at: "body.allow_disjoint") }
                allowDisjoint = b
            }
            self = .merge(parcels: try reader.ids("parcels", required: true)!, newID: try reader.id("new_id", required: false),
                          allowDisjoint: allowDisjoint, try reader.record())
        case "correction":
            if let event = body["event"] {
                guard case .int(let id) = event else { throw RGISError(.malformedInput, "event must be an event id (integer)", at: "body.event") }
                self = .correctTransfer(event: id, to: try reader.id("to")!, recordedAt: try reader.recordedAt(),
                                        document: try reader.string("document", required: false))
                return
            }
            let shape = try reader.geometry("geometry", [.polygon, .multiPolygon])
            if let building = try reader.id("building", required: false) {
                self = .correctGeometry(.buildings, id: building, geometry: shape, recordedAt: try reader.recordedAt(),
                                        document: try reader.string("document", required: false))
            } else {
                self = .correctGeometry(.parcels, id: try reader.id("parcel")!, geometry: shape, recordedAt: try reader.recordedAt(),
                                        document: try reader.string("document", required: false))
            }
        case "new_building":
            self = .addBuilding(id: try reader.id("building")!, parcel: try reader.id("parcel", required: false),
                                geometry: try reader.geometry("geometry", [.polygon, .multiPolygon]), try reader.record())
        case "demolition":
            self = .demolish(building: try reader.id("building")!, try reader.record())
        default:
            throw RGISError(.invalidValue, "kind '\(kind)' is not one of transfer, split, merge, correction, new_building, demolition",
                            at: "body.kind")
        }
    }
}

extension ArchiveChangeRequest {
    /// Throws unless every id this change would create (a party, pieces of a split, a merge, a
    /// building) is a valid ``RecordID``: the CLI builds changes from its options, not through
    /// ``init(json:)``, and both pass here before anything is written.
    public func checkNewIDs() throws {
        switch self {
        case .transfer(let transfer, _): try RecordID.check(transfer.to, at: "to")
        case .split(_, _, let newIDs, _): for id in newIDs ?? [] { try RecordID.check(id, at: "new_ids") }
        case .merge(_, let newID, _, _): if let newID { try RecordID.check(newID, at: "new_id") }
        case .correctTransfer(_, let to, _, _): try RecordID.check(to, at: "to")
        case .addBuilding(let id, _, _, _): try RecordID.check(id, at: "building")
        case .correctGeometry, .demolish: break
        }
    }
}

/// Typed reads of a change's JSON members, each error naming `body.<member>`.
private struct ChangeReader {
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

    /// A record id (``RecordID``).
    func id(_ key: String, required: Bool = true) throws -> String? {
        let text = try string(key, required: required)
        if let text { try RecordID.check(text, at: "body.\(key)") }
        return text
    }

    func ids(_ key: String, required: Bool) throws -> [String]? {
        let texts = try strings(key, required: required)
        for text in texts ?? [] { try RecordID.check(text, at: "body.\(key)") }
        return texts
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
}
