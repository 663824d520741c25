extension Geometry {
    /// Reads OGC Well-Known Text (2D; Z and M values are dropped): POINT, LINESTRING, POLYGON and their MULTI forms.
    public init(wkt text: String) throws {
        let scanner = WKTScanner(Array(text.utf8))
        let type = scanner.word().uppercased()
        _ = scanner.dimensionTag()
        func fail(_ message: String) -> RGISError {
            RGISError(.malformedInput, "WKT \(message) at character \(scanner.index + 1)")
        }
        switch type {
        case "POINT":
            let ps = try scanner.positionList(fail)
            guard ps.count == 1 else { throw fail("POINT must hold one position") }
            self = .point(ps[0])
        case "LINESTRING": self = .lineString(try scanner.positionList(fail))
        case "POLYGON": self = .polygon(try scanner.list(fail) { try $0.positionList(fail) })
        case "MULTIPOINT":
            // Both MULTIPOINT (1 2, 3 4) and MULTIPOINT ((1 2), (3 4)) are in use.
            let points = try scanner.list(fail) { s in
                s.skipSpace()
                if s.peek == UInt8(ascii: "(") {
                    let ps = try s.positionList(fail)
                    guard ps.count == 1 else { throw fail("MULTIPOINT member must hold one position") }
                    return ps[0]
                }
                return try s.position(fail)
            }
            self = .multiPoint(points)
        case "MULTILINESTRING": self = .multiLineString(try scanner.list(fail) { try $0.positionList(fail) })
        case "MULTIPOLYGON":
            self = .multiPolygon(try scanner.list(fail) { s in try s.list(fail) { try $0.positionList(fail) } })
        case "":
            throw fail("is empty or does not start with a geometry type")
        default:
            throw fail("geometry type '\(type)' is not supported")
        }
        scanner.skipSpace()
        guard scanner.atEnd else { throw fail("has unexpected text after the geometry") }
    }
}

/// A reference type, so that the nested list readers can share one position.
private final class WKTScanner {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { index >= bytes.count }
    var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    func skipSpace() {
        while let b = peek, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { index += 1 }
    }

    func word() -> String {
        skipSpace()
        let start = index
        while let b = peek, (b | 0x20) >= UInt8(ascii: "a"), (b | 0x20) <= UInt8(ascii: "z") { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// Skips a `Z`, `M` or `ZM` tag after the type name.
    func dimensionTag() -> String {
        let save = index
        let tag = word().uppercased()
        if ["Z", "M", "ZM"].contains(tag) { return tag }
        index = save
        return ""
    }

    func expect(_ byte: UInt8, _ fail: (String) -> RGISError) throws {
        skipSpace()
        guard peek == byte else { throw fail("expected '\(Character(Unicode.Scalar(byte)))'") }
        index += 1
    }

    func number(_ fail: (String) -> RGISError) throws -> Double {
        skipSpace()
        let start = index
        while let b = peek, (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: "-") || b == UInt8(ascii: "+")
            || b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
            index += 1
        }
        guard let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)) else {
            throw fail("expected a number")
        }
        return value
    }

    func position(_ fail: (String) -> RGISError) throws -> Position {
        let x = try number(fail)
        let y = try number(fail)
        // Drop Z and M values.
        while true {
            skipSpace()
            guard let b = peek, b != UInt8(ascii: ","), b != UInt8(ascii: ")") else { break }
            _ = try number(fail)
        }
        return Position(lon: x, lat: y)
    }

    func positionList(_ fail: (String) -> RGISError) throws -> [Position] {
        try list(fail) { try $0.position(fail) }
    }

    func list<T>(_ fail: (String) -> RGISError, _ item: (WKTScanner) throws -> T) throws -> [T] {
        skipSpace()
        let save = index
        if word().uppercased() == "EMPTY" { return [] }
        index = save
        try expect(UInt8(ascii: "("), fail)
        var items: [T] = []
        while true {
            items.append(try item(self))
            skipSpace()
            if peek == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: ")"), fail)
            return items
        }
    }
}
