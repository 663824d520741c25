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
    /// The CRS the features are answered in (`crs`, OGC API – Features Part 2); CRS84 by default.
    public var crs: CRSReference = .crs84
    /// A bbox given in another CRS (`bbox-crs`): its four numbers in that CRS's axis order. The query
    /// engine turns it into ``bbox``.
    public var bboxInCRS: (values: [Double], crs: CRSReference)?
    /// The exact test of such a bbox where its CRS84 box only holds it (a national grid's rectangle):
    /// the geometry, transformed to `srid`, must intersect the rectangle (easting, northing order).
    public var boxInGrid: (srid: Int32, minX: Double, minY: Double, maxX: Double, maxY: Double)?

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
    public static let parameterNames = ["limit", "bbox", "bbox-crs", "crs", "datetime", "after", "before", "f"]

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
        let bboxCRS = try p["bbox-crs"].map { try CRSReference(parsing: $0, at: "parameter bbox-crs") }
        if let bbox = p["bbox"] {
            if let bboxCRS, bboxCRS != .crs84 {
                bboxInCRS = (try BBox.numbers(parsing: bbox), bboxCRS)
            } else {
                self.bbox = try BBox(parsing: bbox)
            }
        } else if bboxCRS != nil {
            throw RGISError(.invalidValue, "bbox-crs names the CRS of bbox, which is missing", at: "parameter bbox-crs")
        }
        if let crs = p["crs"] {
            self.crs = try CRSReference(parsing: crs)
            if self.crs != .crs84, let f = p["f"], f != "json" {
                throw RGISError(.invalidValue, "crs applies to GeoJSON (f=json); \(f) is answered in CRS84", at: "parameter crs")
            }
        }
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
