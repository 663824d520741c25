import Foundation

/// A typed attribute value ready for a column.
public enum FieldValue: Hashable, Sendable {
    case text(String)
    case integer(Int64)
    case real(Double)

    public var json: JSONValue {
        switch self {
        case .text(let s): .string(s)
        case .integer(let i): .int(i)
        case .real(let d): .double(d)
        }
    }
}

extension Field {
    /// Turns a source value into this field's type, or throws naming the field and the rule.
    /// Null and empty text become the default (usually nil). Numeric text is accepted for numbers,
    /// because CSV carries nothing else.
    public func coerce(_ value: JSONValue) throws -> FieldValue? {
        if value.isNull { return defaultValue.map(FieldValue.text) }
        if case .string(let s) = value, s.trimmingSpaces.isEmpty {
            return defaultValue.map(FieldValue.text)
        }
        switch kind {
        case .text:
            switch value {
            case .string(let s): return .text(s)
            case .array, .object: throw rule("must be text, found \(value.typeName)")
            default: return .text(value.identifierText ?? value.shortDescription)
            }
        case .real(let range):
            guard let d = number(value) else { throw rule("\(value.shortDescription) is not a number") }
            guard d.isFinite else { throw rule("\(value.shortDescription) is not a finite number") }
            guard range.contains(d) else { throw rule("\(value.shortDescription) is outside \(Self.text(range.lowerBound))…\(Self.text(range.upperBound))") }
            return .real(d)
        case .integer(let range):
            guard let d = number(value) else { throw rule("\(value.shortDescription) is not a number") }
            guard d.isFinite, d == d.rounded() else {
                throw rule("\(value.shortDescription) is not a whole number")
            }
            guard d >= Double(range.lowerBound), d <= Double(range.upperBound), let i = Int64(exactly: d) else {
                throw rule("\(value.shortDescription) is outside \(range.lowerBound)…\(range.upperBound)")
            }
            return .integer(i)
        case .date:
            guard case .string(let s) = value, let date = ISODate(parsing: s) else {
                throw rule("\(value.shortDescription) is not an ISO 8601 date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)")
            }
            return .text(date.text)
        case .oneOf(let codes):
            guard case .string(let s) = value, let code = Self.match(s, in: codes) else {
                throw rule("\(value.shortDescription) is not one of \(codes.joined(separator: ", "))")
            }
            return .text(code)
        case .listOf(let codes):
            let items: [String]
            switch value {
            case .string(let s): items = s.split(separator: ",").map { String($0) }
            case .array(let a): items = try a.map {
                guard case .string(let s) = $0 else { throw rule("list items must be text, found \($0.typeName)") }
                return s
            }
            default: throw rule("must be a list of codes, found \(value.typeName)")
            }
            let matched = try items.map { item in
                guard let code = Self.match(item, in: codes) else {
                    throw rule("'\(item.trimmingCharacters(in: .whitespaces))' is not one of \(codes.joined(separator: ", "))")
                }
                return code
            }
            return matched.isEmpty ? nil : .text(matched.joined(separator: ","))
        }
    }

    /// A bound as people write it: 1000000, not 1e+06.
    private static func text(_ bound: Double) -> String {
        bound == bound.rounded() && abs(bound) < 1e15 ? String(Int64(bound)) : String(bound)
    }

    private func rule(_ message: String) -> RGISError {
        RGISError(.invalidValue, "field \(name): \(message)")
    }

    private func number(_ value: JSONValue) -> Double? {
        switch value {
        case .int(let i): Double(i)
        case .double(let d): d
        case .string(let s): Double(s.trimmingSpaces)
        default: nil
        }
    }

    private static func match(_ text: String, in codes: [String]) -> String? {
        // Most values are written as the code already: no need to fold case or spaces.
        if codes.contains(text) { return text }
        let wanted = text.trimmingSpaces.lowercased().replacingOccurrences(of: " ", with: "_")
        return codes.first { $0 == wanted }
    }
}

extension String {
    /// The text without leading and trailing spaces (Unicode's, as `.whitespaces` defines them); the
    /// text itself, without a copy, when it begins and ends with a visible ASCII character, as imported
    /// values nearly always do.
    var trimmingSpaces: String {
        let bytes = utf8
        guard let first = bytes.first, let last = bytes.last else { return self }
        if first > 0x20, first < 0x7F, last > 0x20, last < 0x7F { return self }
        return trimmingCharacters(in: .whitespaces)
    }
}
