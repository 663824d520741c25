import RGISCore

/// What each fuzz target feeds its input to: the paths an imported file or a request body takes
/// through the parsers, up to the record a layer would store. Errors are the expected outcome; a
/// crash, a hang or unbounded memory is what the fuzzer looks for.
enum FuzzTargets {
    static let names = ["geojson", "csv", "wkt", "json", "requests"]

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
        case "requests":
            requests(bytes)
        default:
            if let value = try? JSONValue.parse(bytes) {
                _ = value.jsonText
                _ = try? Geometry(geoJSON: value)
            }
        }
    }

    /// The request values both surfaces build: a JSON body through every body constructor, and a
    /// query string (`a=1&b=2`) through every parameter constructor. Numbers at and past every bound
    /// must come back as errors, never as a trap.
    static func requests(_ bytes: [UInt8]) {
        if let body = try? JSONValue.parse(bytes) {
            _ = try? SubscriptionRequest(demand: "R1", json: body)
            _ = try? AlertHookRequest(json: body)
            _ = try? ArchiveChangeRequest(json: body)
            _ = try? ClientRecord(json: body, agent: "agent-01")
            for layer in Layer.allCases { _ = try? LayerRecordBuilder(layer: layer).record(fromFeature: body) }
            return
        }
        var values: [String: String] = [:]
        for pair in String(decoding: bytes, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            values[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        let p = RequestParameters(values)
        let today = ISODate(parsing: "2026-12-05")!
        _ = try? ListingFilter(p)
        _ = try? Centre(p)
        _ = try? Limit(p, default: 10)
        _ = try? QueryLayer(p)
        _ = try? PageCursor.from(p)
        _ = try? RadiusQuery(p)
        _ = try? NearestQuery(p)
        _ = try? BBoxQuery(p)
        _ = try? IndicatorOptions(p, today: today)
        _ = try? SeriesOptions(p, today: today)
        _ = try? ClientSegment(p)
        _ = try? UnmetDemandOptions(p, bands: (try? UnmetBands(size: p["size_bands"], budget: p["budget_bands"])) ?? UnmetBands())
        _ = try? ForecastOptions(p, today: today)
        _ = try? ValuationQuery(p, today: today)
        for layer in Layer.allCases { _ = try? ItemsQuery(layer: layer, p) }
    }
}
