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

    /// Other names a source gives these fields, compared without case, spaces, `_`, `-` or `.`
    /// (`privateRemarks`, `Private-Remarks`, `AgentRemarks`…): each lands in its private field, never
    /// among the public properties.
    static let aliases: [String: String] = {
        var aliases: [String: String] = [:]
        for (name, reso) in fields {
            aliases[normalized(name)] = name
            aliases[normalized(reso)] = name
        }
        for alias in ["agentremarks", "agentonlyremarks", "privatenotes", "privatecomments"] { aliases[alias] = "private_remarks" }
        for alias in ["showingphone", "showingcontact", "showingcontactname"] { aliases[alias] = "showing_contact_phone" }
        for alias in ["sellerphone", "selleremail", "sellername", "ownercontact", "ownerphone", "owneremail"] { aliases[alias] = "seller_contact" }
        return aliases
    }()

    /// A property name as compared with the private fields' names.
    static func normalized(_ key: String) -> String {
        String(key.lowercased().filter { !" _-.".contains($0) })
    }

    /// Values by stored name; absent when not given.
    public var values: [String: String]

    public init(_ values: [String: String] = [:]) { self.values = values }

    public var isEmpty: Bool { values.isEmpty }

    public var json: [String: JSONValue] { values.mapValues(JSONValue.string) }
}

extension RecordRules {
    /// Takes a listing's private fields (by stored, RESO or another name, ``ListingPrivateFields/aliases``) out of its extra properties, so that
    /// they never land among the public ones. A value must be text (or null, which leaves it out).
    public static func privateFields(of record: inout LayerRecord) throws -> ListingPrivateFields {
        var fields = ListingPrivateFields()
        for key in record.extra.keys.sorted() {
            guard let name = ListingPrivateFields.aliases[ListingPrivateFields.normalized(key)],
                  let value = record.extra.removeValue(forKey: key) else { continue }
            switch value {
            case .null: continue
            case .string(let s) where s.count <= 2000: if !s.isEmpty { fields.values[name] = s }
            case .string: throw RGISError(.invalidValue, "field \(name): longer than 2000 characters")
            default: throw RGISError(.invalidValue, "field \(name) must be text, found \(value.typeName)")
            }
        }
        return fields
    }
}
