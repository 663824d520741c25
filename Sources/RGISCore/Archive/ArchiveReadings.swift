/// What the register reads back about a parcel: its rights on a day and its lineage. The store fills
/// them; the API and the CLI show their `json`.

/// A right on a parcel over a span of valid time.
public struct ParcelRight: Sendable, Equatable {
    public let party: String
    /// Personal data: the archive is read only by regulators and admins, and audited.
    public let partyName: String?
    public let type: String
    public let share: Share
    /// First day in force, and the first day no longer in force (nil: open).
    public let validFrom: String
    public let validTo: String?

    public init(party: String, partyName: String?, type: String, share: Share, validFrom: String, validTo: String?) {
        self.party = party
        self.partyName = partyName
        self.type = type
        self.share = share
        self.validFrom = validFrom
        self.validTo = validTo
    }

    public var json: JSONValue {
        .object(["party": .string(party), "party_name": partyName.map(JSONValue.string) ?? .null, "type": .string(type),
                 "share": .string(share.description), "valid_from": .string(validFrom), "valid_to": validTo.map(JSONValue.string) ?? .null])
    }
}

/// The rights on one parcel valid on a day, as the register knew them at a time.
public struct ParcelRights: Sendable, Equatable {
    public let parcel: String
    public let date: String
    public let knownAt: String
    public let rights: [ParcelRight]

    public init(parcel: String, date: String, knownAt: String, rights: [ParcelRight]) {
        self.parcel = parcel
        self.date = date
        self.knownAt = knownAt
        self.rights = rights
    }

    public var json: JSONValue {
        .object(["parcel": .string(parcel), "date": .string(date), "known_at": .string(knownAt), "rights": .array(rights.map(\.json))])
    }
}

/// A parcel's ancestors and descendants through splits and merges, and the events that linked them.
public struct ParcelLineage: Sendable, Equatable {
    /// A relative: the parcel, how many links away, the event of the nearest link, and the parcel on
    /// that link's near side (toward the parcel asked about).
    public struct Relative: Sendable, Equatable {
        public let parcel: String
        public let depth: Int
        public let event: Int64
        public let link: String
        public let validFrom: String?
        public let validTo: String?

        public init(parcel: String, depth: Int, event: Int64, link: String, validFrom: String?, validTo: String?) {
            self.parcel = parcel
            self.depth = depth
            self.event = event
            self.link = link
            self.validFrom = validFrom
            self.validTo = validTo
        }

        func json(linkKey: String) -> JSONValue {
            .object(["parcel": .string(parcel), "depth": .int(Int64(depth)), "event": .int(event), linkKey: .string(link),
                     "valid_from": validFrom.map(JSONValue.string) ?? .null, "valid_to": validTo.map(JSONValue.string) ?? .null])
        }
    }

    /// A split or merge, and the parcels on each side of it.
    public struct Event: Sendable, Equatable {
        public let id: Int64
        public let kind: String
        public let date: String
        public let recordedAt: String
        public let document: String?
        public let from: [String]
        public let to: [String]

        public init(id: Int64, kind: String, date: String, recordedAt: String, document: String?, from: [String], to: [String]) {
            self.id = id
            self.kind = kind
            self.date = date
            self.recordedAt = recordedAt
            self.document = document
            self.from = from
            self.to = to
        }

        public var json: JSONValue {
            .object(["id": .int(id), "kind": .string(kind), "date": .string(date), "recorded_at": .string(recordedAt),
                     "document": document.map(JSONValue.string) ?? .null,
                     "from": .array(from.map(JSONValue.string)), "to": .array(to.map(JSONValue.string))])
        }
    }

    public let parcel: String
    public let validFrom: String?
    public let validTo: String?
    /// Nearest first, then by parcel; an ancestor's `link` is the parcel it became (`to`).
    public let ancestors: [Relative]
    /// Nearest first, then by parcel; a descendant's `link` is the parcel it came from (`from`).
    public let descendants: [Relative]
    /// The events of every link, by id.
    public let events: [Event]

    public init(parcel: String, validFrom: String?, validTo: String?, ancestors: [Relative], descendants: [Relative], events: [Event]) {
        self.parcel = parcel
        self.validFrom = validFrom
        self.validTo = validTo
        self.ancestors = ancestors
        self.descendants = descendants
        self.events = events
    }

    public var json: JSONValue {
        .object(["parcel": .string(parcel), "valid_from": validFrom.map(JSONValue.string) ?? .null, "valid_to": validTo.map(JSONValue.string) ?? .null,
                 "ancestors": .array(ancestors.map { $0.json(linkKey: "to") }), "descendants": .array(descendants.map { $0.json(linkKey: "from") }),
                 "events": .array(events.map(\.json))])
    }
}
