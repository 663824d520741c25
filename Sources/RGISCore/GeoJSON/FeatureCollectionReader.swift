/// One feature as it appears in a FeatureCollection: its raw JSON text and where it was found.
public struct RawFeature: Sendable {
    /// 1-based position in the `features` array.
    public let number: Int
    /// 1-based line where the feature starts.
    public let line: Int
    public let json: [UInt8]
}

/// Streams the features of a GeoJSON FeatureCollection one at a time, never holding the whole file.
///
/// It scans the top-level object byte by byte: `type` must be `"FeatureCollection"`, `features` an array
/// whose elements are handed out as raw JSON, every other member is skipped. Members may come in any
/// order; a `type` seen after `features` is still checked when the object closes.
public struct FeatureCollectionReader {
    private var input: ByteStream
    private var state = State.start
    private var typeSeen: String?
    private var featuresSeen = false
    private var featureCount = 0

    private enum State { case start, inMembers, inFeatures, done }

    public init(_ input: ByteStream) {
        self.input = input
    }

    /// Bytes consumed so far.
    public var offset: Int { input.offset }

    /// The next feature, or nil after the last one once the whole document has been checked.
    public mutating func next() throws -> RawFeature? {
        while true {
            switch state {
            case .start:
                try skipBOMAndSpace()
                guard let first = try input.peek() else {
                    throw RGISError(.malformedInput, "file is empty")
                }
                guard first == UInt8(ascii: "{") else {
                    if first == UInt8(ascii: "[") {
                        throw RGISError(.malformedInput, "top-level JSON is an array; expected a GeoJSON FeatureCollection object")
                    }
                    throw syntax("expected '{' to open a GeoJSON FeatureCollection")
                }
                _ = try input.next()
                state = .inMembers
                if try closeIfEmptyObject() { return nil }
            case .inMembers:
                try skipSpace()
                let key = try readString(what: "a member name")
                try skipSpace()
                try expect(UInt8(ascii: ":"))
                try skipSpace()
                switch key {
                case "type":
                    let value = try captureValue()
                    guard case .string(let type)? = try? JSONValue.parse(value) else {
                        throw RGISError(.malformedInput, "top-level \"type\" must be a string")
                    }
                    guard type == "FeatureCollection" else {
                        throw RGISError(.malformedInput, "top-level GeoJSON type is '\(type)'; expected a FeatureCollection")
                    }
                    typeSeen = type
                case "features":
                    guard try input.peek() == UInt8(ascii: "[") else {
                        throw RGISError(.malformedInput, "\"features\" must be an array")
                    }
                    _ = try input.next()
                    featuresSeen = true
                    state = .inFeatures
                    try skipSpace()
                    if try input.peek() == UInt8(ascii: "]") {
                        _ = try input.next()
                        state = .inMembers
                        if try endOfMember() { return nil }
                    }
                    continue
                default:
                    _ = try captureValue(keep: false)
                }
                if try endOfMember() { return nil }
            case .inFeatures:
                try skipSpace()
                let line = input.line
                guard try input.peek() == UInt8(ascii: "{") else {
                    throw syntax("feature \(featureCount + 1) must be a JSON object")
                }
                let json = try captureValue()
                featureCount += 1
                try skipSpace()
                switch try input.next() {
                case UInt8(ascii: ","): break
                case UInt8(ascii: "]"):
                    state = .inMembers
                    if try endOfMember() { state = .done }
                case nil: throw truncated()
                default: throw syntax("expected ',' or ']' after feature \(featureCount)")
                }
                return RawFeature(number: featureCount, line: line, json: json)
            case .done:
                return nil
            }
        }
    }

    /// After a member value: ',' continues, '}' ends the document (which is then checked).
    private mutating func endOfMember() throws -> Bool {
        try skipSpace()
        switch try input.next() {
        case UInt8(ascii: ","): return false
        case UInt8(ascii: "}"):
            try finish()
            return true
        case nil: throw truncated()
        default: throw syntax("expected ',' or '}' in the top-level object")
        }
    }

    private mutating func closeIfEmptyObject() throws -> Bool {
        try skipSpace()
        if try input.peek() == UInt8(ascii: "}") {
            _ = try input.next()
            try finish()
            return true
        }
        return false
    }

    private mutating func finish() throws {
        state = .done
        try skipSpace()
        if try input.peek() != nil { throw syntax("unexpected data after the top-level object") }
        guard typeSeen != nil else {
            throw RGISError(.malformedInput, "top-level object has no \"type\": \"FeatureCollection\"; expected a GeoJSON FeatureCollection")
        }
        guard featuresSeen else {
            throw RGISError(.malformedInput, "FeatureCollection has no \"features\" array")
        }
    }

    private func syntax(_ message: String) -> RGISError {
        RGISError(.malformedInput, "not valid GeoJSON at line \(input.line): \(message)")
    }

    private func truncated() -> RGISError {
        RGISError(.malformedInput, "not valid JSON: the file ends in the middle of the document (line \(input.line))")
    }

    private mutating func skipBOMAndSpace() throws {
        if try input.peek() == 0xEF {
            for expected: UInt8 in [0xEF, 0xBB, 0xBF] where try input.next() != expected {
                throw syntax("unexpected bytes at the start of the file")
            }
        }
        try skipSpace()
    }

    @inline(__always)
    private mutating func skipSpace() throws {
        while let b = try input.peek(), b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 {
            _ = try input.next()
        }
    }

    private mutating func expect(_ byte: UInt8) throws {
        guard let b = try input.next() else { throw truncated() }
        guard b == byte else { throw syntax("expected '\(Character(Unicode.Scalar(byte)))'") }
    }

    /// The most bytes one feature (or other member) may take: memory stays bounded whatever the file
    /// holds (a 1 GB string is refused at 64 MB, not read).
    public static let maxValueBytes = 64 << 20

    private func tooLarge() -> RGISError {
        RGISError(.malformedInput, "a feature takes more than \(Self.maxValueBytes >> 20) MB (at byte \(input.offset)); one feature is refused beyond that")
    }

    private mutating func readString(what: String) throws -> String {
        guard try input.peek() == UInt8(ascii: "\"") else { throw syntax("expected \(what) in quotes") }
        let raw = try captureValue()
        guard case .string(let s) = try JSONValue.parse(raw) else { throw syntax("expected \(what)") }
        return s
    }

    /// Reads one JSON value (object, array, string or scalar) and returns its bytes when `keep` is set.
    /// Nesting and strings are tracked so that brackets inside strings do not count; the value's own
    /// syntax is checked later by the JSON decoder.
    private mutating func captureValue(keep: Bool = true) throws -> [UInt8] {
        var out: [UInt8] = []
        var consumed = 0
        var depth = 0
        var inString = false
        var escaped = false
        while let b = try input.peek() {
            if inString {
                _ = try input.next()
                consumed += 1
                if keep { out.append(b) }
                if out.count > Self.maxValueBytes { throw tooLarge() }
                if escaped { escaped = false }
                else if b == UInt8(ascii: "\\") { escaped = true }
                else if b == UInt8(ascii: "\"") {
                    inString = false
                    if depth == 0 { return out }
                }
                continue
            }
            switch b {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0 {
                    if consumed == 0 { throw syntax("expected a value") }
                    return out
                }
                depth -= 1
                if depth == 0 {
                    _ = try input.next()
                    if keep { out.append(b) }
                    return out
                }
            case UInt8(ascii: ","), 0x20, 0x0A, 0x0D, 0x09:
                if depth == 0 {
                    if consumed == 0 { throw syntax("expected a value") }
                    return out
                }
            default:
                break
            }
            _ = try input.next()
            consumed += 1
            if keep { out.append(b) }
            if out.count > Self.maxValueBytes { throw tooLarge() }
        }
        if depth == 0 && !inString && consumed > 0 { return out }
        throw truncated()
    }
}
