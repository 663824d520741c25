import RGISCore

/// One page of query results: features in a stable order, and where the next page starts.
public struct FeaturePage: Sendable {
    public var features: [StoredFeature]
    /// Nil on the last page.
    public var next: PageCursor?
    /// All that matched when a ranking returns only the best (nil: the page is all there is).
    public var numberMatched: Int?

    public init(features: [StoredFeature], next: PageCursor?, numberMatched: Int? = nil) {
        self.features = features
        self.next = next
        self.numberMatched = numberMatched
    }

    /// An RFC 7946 FeatureCollection, with `numberReturned` and, when there is more, `next` (a cursor).
    public var geoJSON: String { geoJSON(extra: [:]) }

    /// The same with other top-level members (a count of matches not shown).
    public func geoJSON(extra: [String: JSONValue]) -> String {
        var out = #"{"type":"FeatureCollection","numberReturned":"# + String(features.count)
        for (key, value) in extra.sorted(by: { $0.key < $1.key }) {
            out += ","
            JSONValue.writeString(key, to: &out)
            out += ":"
            value.write(to: &out)
        }
        if let next {
            out += #","next":"#
            JSONValue.writeString(next.token, to: &out)
        }
        out += #","features":["#
        for (i, f) in features.enumerated() {
            out += i == 0 ? "\n" : ",\n"
            f.write(to: &out)
        }
        out += "\n]}\n"
        return out
    }
}
