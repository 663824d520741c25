/// An entry of a stored listing's or demand's history (``RecordRules/ChangeEvent``), as the store
/// reads it back.
public struct RecordEvent: Sendable, Equatable {
    /// The store's id for the entry: one record's entries ascend in the order they were written.
    public let id: Int64
    public let kind: RecordRules.ChangeEvent.Kind
    public let oldValue: FieldValue?
    public let newValue: FieldValue?
    /// When it was written (RFC 3339, UTC).
    public let at: String

    public init(id: Int64, kind: RecordRules.ChangeEvent.Kind, oldValue: FieldValue?, newValue: FieldValue?, at: String) {
        self.id = id
        self.kind = kind
        self.oldValue = Self.typed(oldValue, kind)
        self.newValue = Self.typed(newValue, kind)
        self.at = at
    }

    /// A price is a number, whatever column kept it (a text column, as SQLite's, or a market's history
    /// imported as text): every backend gives it back alike.
    static func typed(_ value: FieldValue?, _ kind: RecordRules.ChangeEvent.Kind) -> FieldValue? {
        guard kind == .priceChange else { return value }
        switch value {
        case .text(let text)?: return Double(text).flatMap { $0.isFinite ? FieldValue.real($0) : nil } ?? value
        case .integer(let whole)?: return .real(Double(whole))
        default: return value
        }
    }

    /// What the API shows of it.
    public var json: JSONValue {
        .object(["kind": .string(kind.rawValue), "old_value": oldValue?.json ?? .null, "new_value": newValue?.json ?? .null, "at": .string(at)])
    }
}
