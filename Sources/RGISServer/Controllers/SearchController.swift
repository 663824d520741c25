import Foundation
import Hummingbird
import RGISStore
import RGISCore
import RGISQuery
import RGISFiles

/// The domain search API: radius, drawn polygon, locate, a district's listings, indicators.
struct SearchController {
    let state: ServerState

    static let filters: [ParameterSpec] = [
        ParameterSpec("price_min", .number, "Lowest list price", minimum: 0),
        ParameterSpec("price_max", .number, "Highest list price", minimum: 0),
        ParameterSpec("bedrooms", .integer, "At least this many bedrooms", minimum: 0),
        ParameterSpec("type", .string, "Property types, comma-separated: \(PropertyType.allCases.map(\.rawValue).joined(separator: ", "))",
                      pattern: ParameterSpec.codeList(PropertyType.allCases.map(\.rawValue))),
        ParameterSpec("status", .string, "Listing statuses, comma-separated: \(ListingStatus.allCases.map(\.rawValue).joined(separator: ", "))",
                      pattern: ParameterSpec.codeList(ListingStatus.allCases.map(\.rawValue))),
        ParameterSpec("area_min", .number, "Smallest living area, m²", minimum: 0),
        ParameterSpec("area_max", .number, "Largest living area, m²", minimum: 0),
        ParameterSpec("year_min", .integer, "Built in or after this year"),
        ParameterSpec("year_max", .integer, "Built in or before this year"),
        ParameterSpec("listed_since", .string, "Listed on or after this date (YYYY-MM-DD)", format: "date"),
    ]
    static let paging: [ParameterSpec] = [
        ParameterSpec("limit", .integer, "Most features to return (1–10000, default 100)", minimum: 1, maximum: 10_000),
        ParameterSpec("cursor", .string, "Continue after the page whose `next` member gave this cursor"),
        ParameterSpec("layer", .string, "The layer to search (default listings)", values: QueryLayer.allCases.map(\.rawValue)),
    ]
    static let point: [ParameterSpec] = [
        ParameterSpec("lon", .number, required: true, "Longitude, degrees (WGS84)", minimum: -180, maximum: 180),
        ParameterSpec("lat", .number, required: true, "Latitude, degrees (WGS84)", minimum: -90, maximum: 90),
    ]

    static func geoJSON(_ page: FeaturePage, extra: [String: JSONValue] = [:]) -> Response {
        .text(page.geoJSON(extra: extra), type: MediaTypes.geoJSON)
    }

    var endpoints: [Endpoint] {
        let radiusQuery = Self.point + [ParameterSpec("radius_m", .number, required: true, "Radius in metres (1–100000)", minimum: 1, maximum: 100_000)]
            + Self.filters + Self.paging
        let nearestQuery = Self.point + [ParameterSpec("k", .integer, "How many features (1–10000, default 10)", minimum: 1, maximum: 10_000)]
            + Self.filters + [Self.paging[2]]
        let polygonQuery = [ParameterSpec("within", .boolean, "Only features entirely within the polygon (default: any that intersect it)")]
            + Self.filters + Self.paging
        let districtQuery = Self.filters + [Self.paging[0], Self.paging[1]]
        let indicatorQuery = [
            ParameterSpec("level", .string, "District level (default district)", values: DistrictLevel.allCases.map(\.rawValue)),
            ParameterSpec("as_of", .string, "The day the figures are for (YYYY-MM-DD, default today)", format: "date"),
            ParameterSpec("since", .string, "Closed sales are counted from this day (default a year before as_of)", format: "date"),
            ParameterSpec("long_unsold_days", .integer, "Active listings on the market more than this many days count as long unsold (default 180; a year is 365)",
                          minimum: 1, maximum: Double(IndicatorOptions.longestUnsoldDays)),
            ParameterSpec("f", .string, "geojson (default), csv (a row per district, no geometry) or fgb (FlatGeobuf, with the districts' geometry)", values: ["geojson", "csv", "fgb"]),
        ]
        let seriesQuery = [
            ParameterSpec("level", .string, "District level (default district)", values: DistrictLevel.allCases.map(\.rawValue)),
            ParameterSpec("district", .string, "One district's id (default every district of the level)"),
            ParameterSpec("from", .string, "First month, YYYY-MM (default 23 months before to)", pattern: #"^\d{4}-\d{2}$"#),
            ParameterSpec("to", .string, "Last month, YYYY-MM (default this month)", pattern: #"^\d{4}-\d{2}$"#),
            ParameterSpec("f", .string, "json (default) or csv (one row per district and month)", values: ["json", "csv"]),
        ]
        let segmentQuery = [
            ParameterSpec("level", .string, "District level (default district)", values: DistrictLevel.allCases.map(\.rawValue)),
            ParameterSpec("by", .string, required: true, "The client field: age_band, household, income_band or lifecycle_stage",
                          values: ClientSegment.allCases.map(\.rawValue)),
            ParameterSpec("f", .string, "json (default) or csv", values: ["json", "csv"]),
        ]
        let forecastQuery = [
            ParameterSpec("level", .string, "District level (default district)", values: DistrictLevel.allCases.map(\.rawValue)),
            ParameterSpec("district", .string, "One district's id (default every district of the level)"),
            ParameterSpec("horizon", .integer, "Months ahead of the last complete month (1–12, default 12)", minimum: 1, maximum: 12),
            ParameterSpec("f", .string, "json (default) or csv (one row per district, figure and month)", values: ["json", "csv"]),
        ]
        let unmetQuery = [
            ParameterSpec("level", .string, "District level (default district)", values: DistrictLevel.allCases.map(\.rawValue)),
            ParameterSpec("top", .integer, "How many of a district's largest unmet cells top_unmet names (1–100, default 5)", minimum: 1, maximum: 100),
            ParameterSpec("f", .string, "geojson (default), csv (a row per district and cell, no geometry) or xlsx", values: ["geojson", "csv", "xlsx"]),
        ]
        return [
            Endpoint(method: .get, path: "/search/radius", operationID: "searchRadius",
                     summary: "Features within a geodesic radius of a point, nearest first, each with distance_m", tag: "Search",
                     query: radiusQuery, produces: MediaTypes.geoJSON, handler: radius),
            // Heavy: on a file store, few features passing a filter widen the search towards the whole layer.
            Endpoint(method: .get, path: "/search/nearest", operationID: "searchNearest",
                     summary: "The k features nearest a point, anywhere, nearest first, each with distance_m", tag: "Search",
                     query: nearestQuery, produces: MediaTypes.geoJSON, heavy: true, handler: nearest),
            Endpoint(method: .post, path: "/search/polygon", operationID: "searchPolygon",
                     summary: "Features intersecting (or within) a drawn polygon", tag: "Search", query: polygonQuery,
                     body: "A GeoJSON Polygon or MultiPolygon geometry, or a Feature holding one",
                     bodySchema: OpenAPIDocument.polygonSchema, produces: MediaTypes.geoJSON, heavy: true, handler: polygon),
            Endpoint(method: .get, path: "/locate", operationID: "locate", summary: "The district holding a point at each level (boundary included; on a shared edge, the one imported first), widest level first",
                     tag: "Search", query: Self.point, produces: MediaTypes.geoJSON, handler: locate),
            Endpoint(method: .get, path: "/districts/{districtId}/listings", operationID: "districtListings",
                     summary: "The listings placed in a district (and so in its sub-districts)", tag: "Search",
                     pathParameters: [ParameterSpec("districtId", .string, required: true, "A district's id")],
                     query: districtQuery, produces: MediaTypes.geoJSON, handler: districtListings),
            Endpoint(method: .get, path: "/indicators", operationID: "indicators",
                     summary: "Supply and demand per district, choropleth-ready; figures from fewer than 5 records withheld",
                     tag: "Indicators", query: indicatorQuery, produces: MediaTypes.geoJSON, alsoProduces: [MediaTypes.csv, MediaTypes.flatGeobuf], heavy: true, handler: indicators),
            Endpoint(method: .get, path: "/indicators/series", operationID: "indicatorSeries",
                     summary: "Monthly market series per district (inventory, sales, prices, supply, demand, year-over-year), small numbers withheld",
                     tag: "Indicators", query: seriesQuery, produces: MediaTypes.json, alsoProduces: [MediaTypes.csv], namesRecordInQuery: true,
                     heavy: true, handler: series),
            Endpoint(method: .get, path: "/indicators/segments", operationID: "indicatorSegments",
                     summary: "Clients with active demand per district by segment; cells of 1 to 4 clients withheld, with complementary cells",
                     tag: "Indicators", query: segmentQuery, produces: MediaTypes.json, alsoProduces: [MediaTypes.csv], access: .planners,
                     heavy: true, handler: segments),
            Endpoint(method: .get, path: "/indicators/forecasts", operationID: "indicatorForecasts",
                     summary: "Forecasts of each district's inventory, months of supply, list price per m², demand and sales 1 to 12 months ahead, with 80 % and 95 % intervals and their measured backtest error (MASE, coverage)",
                     tag: "Indicators", query: forecastQuery, produces: MediaTypes.json, alsoProduces: [MediaTypes.csv], namesRecordInQuery: true,
                     heavy: true, handler: forecasts),
            Endpoint(method: .get, path: "/indicators/unmet", operationID: "indicatorUnmet",
                     summary: "Active demand per district that no active listing fits (and that only a near fit serves), by cell of type × bedrooms × size × budget (the server's bands), with the largest unmet cells; counts of 1 to 4 withheld, with complementary counts",
                     tag: "Indicators", query: unmetQuery, produces: MediaTypes.geoJSON, alsoProduces: [MediaTypes.csv, ExportFormat.xlsx.mediaType],
                     access: .planners, heavy: true, handler: unmet),
        ]
    }

    @Sendable func radius(_ call: EndpointCall) async throws -> Response {
        Self.geoJSON(try await state.engine.radius(try RadiusQuery(call.parameters)))
    }

    @Sendable func nearest(_ call: EndpointCall) async throws -> Response {
        Self.geoJSON(try await state.engine.nearest(try NearestQuery(call.parameters)))
    }

    @Sendable func polygon(_ call: EndpointCall) async throws -> Response {
        let query = try PolygonQuery(area: try SearchArea(geoJSON: try await call.body()), call.parameters)
        return Self.geoJSON(try await state.engine.polygon(query))
    }

    @Sendable func locate(_ call: EndpointCall) async throws -> Response {
        Self.geoJSON(try await state.engine.districts(containing: try Centre(call.parameters)))
    }

    @Sendable func districtListings(_ call: EndpointCall) async throws -> Response {
        let p = call.parameters
        return Self.geoJSON(try await state.engine.listings(inDistrict: call.path("districtId"), filter: try ListingFilter(p),
                                                            limit: try Limit(p, default: 100), after: try PageCursor.from(p)))
    }

    @Sendable func series(_ call: EndpointCall) async throws -> Response {
        let series = try await state.engine.series(try SeriesOptions(call.parameters, today: .today()))
        return call.parameters["f"] == "csv" ? .text(series.csv, type: MediaTypes.csv) : .json(series.json)
    }

    @Sendable func segments(_ call: EndpointCall) async throws -> Response {
        let p = call.parameters
        let table = try await state.engine.segments(level: try IndicatorOptions.level(parsing: p["level"] ?? "district"), by: try ClientSegment(p))
        return p["f"] == "csv" ? .text(table.csv, type: MediaTypes.csv) : .json(table.json)
    }

    @Sendable func forecasts(_ call: EndpointCall) async throws -> Response {
        let result = try await state.engine.forecasts(try ForecastOptions(call.parameters, today: .today()), rules: state.alertRules)
        return call.parameters["f"] == "csv" ? .text(result.csv, type: MediaTypes.csv) : .json(result.json)
    }

    @Sendable func unmet(_ call: EndpointCall) async throws -> Response {
        let page = try await state.engine.unmetDemand(try UnmetDemandOptions(call.parameters, bands: state.unmetBands))
        switch call.parameters["f"] {
        case "csv": return .text(QueryEngine.unmetDemandCSV(page), type: MediaTypes.csv)
        case "xlsx": return .bytes(try SheetFile.xlsx(name: "unmet", csv: QueryEngine.unmetDemandCSV(page)), type: ExportFormat.xlsx.mediaType)
        default: return Self.geoJSON(page)
        }
    }

    @Sendable func indicators(_ call: EndpointCall) async throws -> Response {
        let page = try await state.engine.indicators(try IndicatorOptions(call.parameters, today: .today()))
        switch call.parameters["f"] {
        case "csv": return .text(QueryEngine.indicatorsCSV(page), type: MediaTypes.csv)
        case "fgb": return try .flatGeobuf(try JSONValue.parse(Array(page.geoJSON.utf8))["features"]?.arrayValue ?? [], layer: .districts)
        default: return Self.geoJSON(page)
        }
    }
}
