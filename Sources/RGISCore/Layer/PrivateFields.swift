/// Listing fields that are private by nature: only the listing's agent and admins see them. They are
/// stored apart from the listing (`listing_private`), so no public query, filter or export can reach them.
public struct ListingPrivateFields: Sendable, Equatable {
    /// Stored names, with the RESO names a source may use for them.
    public static let fields: [(name: String, reso: String)] = [
        ("private_remarks", "PrivateRemarks"),
        ("showing_contact_phone", "ShowingContactPhone"),
        ("seller_contact", "SellerContact"),
    ]
    public static var names: [String] { fields.map(\.name) }

    /// Values by stored name; absent when not given.
    public var values: [String: String]

    public init(_ values: [String: String] = [:]) { self.values = values }

    public var isEmpty: Bool { values.isEmpty }

    public var json: [String: JSONValue] { values.mapValues(JSONValue.string) }
}

extension RecordRules {
    /// Takes a listing's private fields (by stored or RESO name) out of its extra properties, so that
    /// they never land among the public ones. A value must be text (or null, which leaves it out).
    public static func privateFields(of record: inout LayerRecord) throws -> ListingPrivateFields {
        var fields = ListingPrivateFields()
        for (name, reso) in ListingPrivateFields.fields {
            for key in [name, reso] {
                guard let value = record.extra.removeValue(forKey: key) else { continue }
                switch value {
                case .null: continue
                case .string(let s) where s.count <= 2000: if !s.isEmpty { fields.values[name] = s }
                case .string: throw RGISError(.invalidValue, "field \(name): longer than 2000 characters")
                default: throw RGISError(.invalidValue, "field \(name) must be text, found \(value.typeName)")
                }
            }
        }
        return fields
    }
}
