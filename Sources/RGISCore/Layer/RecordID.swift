/// The ids RGIS stores for records (listings, parcels, buildings, districts, demands, clients, archive
/// parcels and buildings, parties): 1 to 128 characters of `A–Z a–z 0–9 - _ . : ~ +` (RFC 3986's
/// unreserved characters, the colon, and the plus that joins merged parcels' ids). Such an id is the same in a URL path, a file name, HTML, a
/// CSV cell and a log line as it is stored, so no page or export has to trust it. Anything else is
/// refused where the id is written (a 422 over HTTP, the import's usual error for a file).
public enum RecordID {
    public static let maxLength = 128
    public static let alphabet = "A–Z a–z 0–9 - _ . : ~ +"

    /// Throws ``RGISError/Code/invalidValue`` at `location` unless `id` is a valid record id.
    public static func check(_ id: String, at location: String = "field id") throws {
        guard isValid(id) else {
            let shown = id.unicodeScalars.count > 40 ? String(String.UnicodeScalarView(id.unicodeScalars.prefix(40))) + "…" : id
            throw RGISError(.invalidValue, "'\(shown.debugDescription.dropFirst().dropLast())' is not an id: ids are 1 to \(maxLength) characters of \(alphabet)",
                            at: location)
        }
    }

    public static func isValid(_ id: String) -> Bool {
        let bytes = id.utf8
        guard !bytes.isEmpty, bytes.count <= maxLength else { return false }
        return bytes.allSatisfy { b in
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
            case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "~"), UInt8(ascii: "+"): true
            default: false
            }
        }
    }
}
