import RGISCore

/// What each fuzz target feeds its input to: the paths an imported file or a request body takes
/// through the parsers, up to the record a layer would store. Errors are the expected outcome; a
/// crash, a hang or unbounded memory is what the fuzzer looks for.
enum FuzzTargets {
    static let names = ["geojson", "csv", "wkt", "json"]

    static func exercise(_ target: String, _ bytes: [UInt8]) {
        switch target {
        case "geojson":
            var reader = FeatureCollectionReader(ByteStream(bytes: bytes))
            let builder = LayerRecordBuilder(layer: .parcels)
            while let raw = try? reader.next() {
                if let value = try? JSONValue.parse(raw.json) { _ = try? builder.record(fromFeature: value) }
            }
        case "csv":
            var reader = CSVReader(ByteStream(bytes: bytes), delimiter: bytes.first == UInt8(ascii: ";") ? UInt8(ascii: ";") : UInt8(ascii: ","))
            while let record = try? reader.next() {
                for field in record.fields where field.hasPrefix("POLYGON") || field.hasPrefix("POINT") || field.hasPrefix("MULTI") {
                    _ = try? Geometry(wkt: field).validate()
                }
            }
        case "wkt":
            if let geometry = try? Geometry(wkt: String(decoding: bytes, as: UTF8.self)) {
                try? geometry.validate()
                _ = geometry.wkb
            }
        default:
            if let value = try? JSONValue.parse(bytes) {
                _ = value.jsonText
                _ = try? Geometry(geoJSON: value)
            }
        }
    }
}
