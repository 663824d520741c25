/// Features as CSV for spreadsheets (RFC 4180, a header line, CRLF), the same columns as `rgis export
/// --format csv`: `id`, then `lon` and `lat` for points or `wkt` for other shapes, then the layer's
/// fields, then every other property of the features (in name order); nested values as JSON text.
public enum FeatureCSV {
    public static func write(_ features: [JSONValue], layer: Layer) -> String {
        let points = layer.storedGeometry == .point
        let geometryColumns = points ? ["lon", "lat"] : ["wkt"]
        let fields = layer.fields.map(\.name)
        var others = Set<String>()
        for f in features { for key in (f["properties"]?.objectValue ?? [:]).keys where !fields.contains(key) { others.insert(key) } }
        let columns = fields + others.subtracting(geometryColumns + ["id"]).sorted()
        var out = (["id"] + geometryColumns + columns).map(CSVText.field).joined(separator: ",") + "\r\n"
        for f in features {
            var cells = [CSVText.field(f["id"]?.stringValue ?? (f["id"].map { $0.jsonText } ?? ""))]
            let geometry = f["geometry"].flatMap { try? Geometry(geoJSON: $0) }
            if points {
                let p = geometry?.positions.first
                cells += [CSVText.cell(p.map { .double($0.lon) }), CSVText.cell(p.map { .double($0.lat) })]
            } else {
                cells.append(CSVText.field(geometry?.wkt ?? ""))
            }
            cells += columns.map { CSVText.cell(f["properties"]?[$0]) }
            out += cells.joined(separator: ",") + "\r\n"
        }
        return out
    }
}

extension Geometry {
    /// Well-known text (OGC 06-103), coordinates as JSON writes numbers.
    public var wkt: String {
        func position(_ p: Position) -> String {
            var s = ""
            JSONValue.writeNumber(p.lon, to: &s)
            s += " "
            JSONValue.writeNumber(p.lat, to: &s)
            return s
        }
        func ring(_ ps: [Position]) -> String { "(" + ps.map(position).joined(separator: ", ") + ")" }
        func rings(_ rs: [[Position]]) -> String { "(" + rs.map(ring).joined(separator: ", ") + ")" }
        switch self {
        case .point(let p): return "POINT (\(position(p)))"
        case .multiPoint(let ps): return "MULTIPOINT " + "(" + ps.map { "(" + position($0) + ")" }.joined(separator: ", ") + ")"
        case .lineString(let ps): return "LINESTRING " + ring(ps)
        case .multiLineString(let ls): return "MULTILINESTRING " + rings(ls)
        case .polygon(let rs): return "POLYGON " + rings(rs)
        case .multiPolygon(let polys): return "MULTIPOLYGON (" + polys.map(rings).joined(separator: ", ") + ")"
        }
    }
}
