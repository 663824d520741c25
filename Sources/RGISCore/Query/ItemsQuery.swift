/// What OGC API – Features `/items` asks: a collection page with optional bbox, datetime and
/// equality filters on the collection's typed fields.
public struct ItemsQuery: Sendable {
    public var layer: Layer
    public var bbox: BBox?
    public var datetime: DateTimeInterval?
    /// Field = value filters; fields come from the layer's declared fields, never from raw text.
    public var equals: [(field: Field, value: FieldValue)] = []
    public var limit: Limit
    /// Keyset paging by storage key: features after this fid, or before it (for `prev`).
    public var afterFid: Int64?
    public var beforeFid: Int64?

    public init(layer: Layer, limit: Limit) {
        self.layer = layer
        self.limit = limit
    }

    /// The date fields `datetime` applies to: (start, end) of the record's validity.
    public static func temporal(_ layer: Layer) -> (start: String, end: String)? {
        switch layer {
        case .listings: ("list_date", "close_date")
        case .parcels: ("valid_from", "valid_to")
        default: nil
        }
    }

    public var hasTemporalProperty: Bool { Self.temporal(layer) != nil }

    /// The parameters `/items` reads besides property filters.
    public static let parameterNames = ["limit", "bbox", "datetime", "after", "before", "f"]

    /// `limit` (default 10; larger values clamped to 10,000, as OGC allows), `bbox`, `datetime`,
    /// `after`, `before`, and every other parameter as an equality filter on a field of the layer.
    public init(layer: Layer, _ p: RequestParameters) throws {
        self.init(layer: layer, limit: try Limit(min(try p.int("limit") ?? 10, Limit.maximum)))
        let queryable = Dictionary(uniqueKeysWithValues: layer.fields.map { ($0.name, $0) })
        let known = Set(Self.parameterNames)
        for (name, value) in p.values.sorted(by: { $0.key < $1.key }) where !known.contains(name) {
            guard let field = queryable[name] else {
                throw RGISError(.malformedInput, "unknown parameter '\(name)'; \(layer) takes \(known.sorted().joined(separator: ", ")) and the properties \(layer.fields.map(\.name).joined(separator: ", "))", at: "parameter \(name)")
            }
            if let typed = try field.coerce(.string(value)) { equals.append((field, typed)) }
        }
        if let bbox = p["bbox"] { self.bbox = try BBox(parsing: bbox) }
        if let datetime = p["datetime"] { self.datetime = try DateTimeInterval(parsing: datetime) }
        // html is the server's page of the same answer, csv the same features as a table, fgb as FlatGeobuf.
        if let f = p["f"], !["json", "html", "csv", "fgb"].contains(f) { throw RGISError(.malformedInput, "f must be json, html, csv or fgb", at: "parameter f") }
        afterFid = try p.int("after").map(Int64.init)
        beforeFid = try p.int("before").map(Int64.init)
        guard datetime == nil || hasTemporalProperty else {
            throw RGISError(.invalidValue, "collection \(layer) has no temporal property for datetime", at: "parameter datetime")
        }
    }
}
