/// The rules a stored listing or demand follows when it is written, as plain code: which change events
/// a replacement records, and which client a demand creates. The store carries them out in the write's
/// transaction.
public enum RecordRules {
    /// One entry of a record's history (`events`).
    public struct ChangeEvent: Sendable, Equatable {
        public enum Kind: String, Sendable { case new, priceChange = "price_change", statusChange = "status_change", update, withdrawn }
        public let kind: Kind
        public let oldValue: FieldValue?
        public let newValue: FieldValue?
    }

    /// The field whose changes are logged as price changes: the list price, or a demand's budget.
    public static func priceField(_ layer: Layer) -> String? {
        switch layer {
        case .listings: "list_price"
        case .demands: "budget_max"
        default: nil
        }
    }

    /// What of a listing decides which demands it fits, besides price and status: a change of it logs
    /// `update`, which starts a new match (the listing may fit other clients now).
    public struct ListingShape: Sendable, Equatable {
        public let propertyType: String?
        public let livingAreaM2: Double?
        public let bedrooms: Double?
        public let position: Position?

        public init(propertyType: String?, livingAreaM2: Double?, bedrooms: Double?, position: Position?) {
            self.propertyType = propertyType
            self.livingAreaM2 = livingAreaM2
            self.bedrooms = bedrooms
            self.position = position
        }

        /// Equal when the facts are equal and the places within about a millimetre (a point read
        /// back as GeoJSON with 9 decimals is the same place).
        public static func == (a: ListingShape, b: ListingShape) -> Bool {
            guard a.propertyType == b.propertyType, a.livingAreaM2 == b.livingAreaM2, a.bedrooms == b.bedrooms else { return false }
            switch (a.position, b.position) {
            case (nil, nil): return true
            case let (p?, q?): return abs(p.lon - q.lon) < 1e-8 && abs(p.lat - q.lat) < 1e-8
            default: return false
            }
        }

        public init(_ record: LayerRecord) {
            func number(_ v: FieldValue?) -> Double? {
                switch v { case .real(let d)?: d; case .integer(let i)?: Double(i); default: nil }
            }
            let type: String? = if case .text(let s)? = record.values["property_type"] { s } else { nil }
            let position: Position? = if case .point(let p) = record.geometry { p } else { nil }
            self.init(propertyType: type, livingAreaM2: number(record.values["living_area_m2"]),
                      bedrooms: number(record.values["bedrooms"]), position: position)
        }
    }

    /// What replacing a record logs: nothing for a layer without a history, `new` for a first write,
    /// else a price change and a status change for each that differs, and `update` when a listing's
    /// shape (``ListingShape``) differs from `previousShape`.
    public static func events(_ layer: Layer, previous: (price: Double?, status: String?)?, previousShape: ListingShape? = nil,
                              record: LayerRecord) -> [ChangeEvent] {
        guard let priceField = priceField(layer) else { return [] }
        guard let previous else { return [ChangeEvent(kind: .new, oldValue: nil, newValue: nil)] }
        var events: [ChangeEvent] = []
        let newPrice: Double? = switch record.values[priceField] {
        case .real(let d)?: d
        case .integer(let i)?: Double(i)
        default: nil
        }
        if previous.price != newPrice {
            events.append(ChangeEvent(kind: .priceChange, oldValue: previous.price.map(FieldValue.real), newValue: newPrice.map(FieldValue.real)))
        }
        let newStatus: String? = if case .text(let s)? = record.values["status"] { s } else { nil }
        if previous.status != newStatus {
            events.append(ChangeEvent(kind: .statusChange, oldValue: previous.status.map(FieldValue.text), newValue: newStatus.map(FieldValue.text)))
        }
        if layer == .listings, let previousShape, previousShape != ListingShape(record) {
            events.append(ChangeEvent(kind: .update, oldValue: nil, newValue: nil))
        }
        return events
    }

    /// The client a demand names, created on first sight and owned by the demand's agent.
    public struct DemandClient: Sendable, Equatable {
        public let id: String
        public let agent: String
        public let ageBand: String?, household: String?, incomeBand: String?, lifecycleStage: String?
    }

    /// Client attributes a demand file may carry; they describe the client, not the demand.
    public static let clientProperties = ["age_band", "household", "income_band", "lifecycle_stage"]

    /// The client of a demand record (its segment taken out of the demand's extra properties), or nil
    /// when it names none. A demand with a client must name its agent.
    public static func client(of record: inout LayerRecord) throws -> DemandClient? {
        guard case .text(let id)? = record.values["client_id"] else { return nil }
        let segment = clientProperties.map { record.extra.removeValue(forKey: $0)?.identifierText }
        guard case .text(let agent)? = record.values["agent"] else {
            throw RGISError(.invalidValue, "field agent: a demand with a client_id needs the owning agent")
        }
        return DemandClient(id: id, agent: agent, ageBand: segment[0], household: segment[1], incomeBand: segment[2], lifecycleStage: segment[3])
    }
}

/// A file of dated changes of listings and demands (a market's history), one CSV row each.
public enum ChangeHistory {
    /// The header, in this order.
    public static let columns = ["layer", "record_id", "kind", "old_value", "new_value", "at"]
}
