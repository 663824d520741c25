import Foundation
import Hummingbird
import RGISCore
import RGISQuery

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

    static func filter(_ p: QueryParameters) throws -> ListingFilter {
        var f = ListingFilter()
        f.priceMin = try p.double("price_min")
        f.priceMax = try p.double("price_max")
        f.bedroomsMin = try p.int("bedrooms")
        f.propertyTypes = try p["type"].map(ListingFilter.propertyTypes(parsing:)) ?? []
        f.statuses = try p["status"].map(ListingFilter.statuses(parsing:)) ?? []
        f.livingAreaMinM2 = try p.double("area_min")
        f.livingAreaMaxM2 = try p.double("area_max")
        f.yearBuiltMin = try p.int("year_min")
        f.yearBuiltMax = try p.int("year_max")
        if let since = p["listed_since"] {
            guard let date = ISODate(parsing: since) else {
                throw RGISError(.malformedInput, "listed_since '\(since)' is not a date (YYYY-MM-DD)", at: "parameter listed_since")
            }
            f.listedSince = date
        }
        try f.validate()
        return f
    }

    static func layer(_ p: QueryParameters) throws -> QueryLayer {
        guard let text = p["layer"] else { return .listings }
        guard let layer = QueryLayer(rawValue: text) else {
            throw RGISError(.invalidValue, "layer '\(text)' cannot be searched; use listings, parcels or buildings", at: "parameter layer")
        }
        return layer
    }

    static func centre(_ p: QueryParameters) throws -> Centre {
        try Centre(lon: try p.double("lon")!, lat: try p.double("lat")!)
    }

    static func geoJSON(_ page: FeaturePage) -> Response { .text(page.geoJSON, type: MediaTypes.geoJSON) }

    var endpoints: [Endpoint] {
        let radiusQuery = Self.point + [ParameterSpec("radius_m", .number, required: true, "Radius in metres (1–100000)", minimum: 1, maximum: 100_000)]
            + Self.filters + Self.paging
        let polygonQuery = [ParameterSpec("within", .boolean, "Only features entirely within the polygon (default: any that intersect it)")]
            + Self.filters + Self.paging
        let districtQuery = Self.filters + [Self.paging[0], Self.paging[1]]
        let indicatorQuery = [
            ParameterSpec("level", .string, "District level (default district)", values: DistrictLevel.allCases.map(\.rawValue)),
            ParameterSpec("as_of", .string, "The day the figures are for (YYYY-MM-DD, default today)", format: "date"),
            ParameterSpec("since", .string, "Closed sales are counted from this day (default a year before as_of)", format: "date"),
        ]
        return [
            Endpoint(method: .get, path: "/search/radius", operationID: "searchRadius",
                     summary: "Features within a geodesic radius of a point, nearest first, each with distance_m", tag: "Search",
                     query: radiusQuery, produces: MediaTypes.geoJSON) { [state] request, _ in
                let p = try QueryParameters(request, allowed: radiusQuery, extra: false)
                var query = RadiusQuery(centre: try Self.centre(p), radius: try RadiusMetres(try p.double("radius_m")!),
                                        limit: try Limit(try p.int("limit") ?? 100))
                query.layer = try Self.layer(p)
                query.filter = try Self.filter(p)
                query.after = try p["cursor"].map(PageCursor.init(parsing:))
                return Self.geoJSON(try state.engine.radius(query))
            },
            Endpoint(method: .post, path: "/search/polygon", operationID: "searchPolygon",
                     summary: "Features intersecting (or within) a drawn polygon", tag: "Search", query: polygonQuery,
                     body: "A GeoJSON Polygon or MultiPolygon geometry, or a Feature holding one",
                     bodySchema: OpenAPIDocument.polygonSchema, produces: MediaTypes.geoJSON) { [state] request, context in
                let p = try QueryParameters(request, allowed: polygonQuery, extra: false)
                let body = try await Self.body(request, context)
                var query = PolygonQuery(area: try SearchArea(geoJSON: body), limit: try Limit(try p.int("limit") ?? 100))
                switch p["within"] {
                case nil, "false": query.predicate = .intersects
                case "true": query.predicate = .within
                case let other?: throw RGISError(.malformedInput, "within must be true or false, found '\(other)'", at: "parameter within")
                }
                query.layer = try Self.layer(p)
                query.filter = try Self.filter(p)
                query.after = try p["cursor"].map(PageCursor.init(parsing:))
                return Self.geoJSON(try state.engine.polygon(query))
            },
            Endpoint(method: .get, path: "/locate", operationID: "locate", summary: "The districts containing a point, widest level first",
                     tag: "Search", query: Self.point, produces: MediaTypes.geoJSON) { [state] request, _ in
                let p = try QueryParameters(request, allowed: Self.point, extra: false)
                return Self.geoJSON(try state.engine.districts(containing: try Self.centre(p)))
            },
            Endpoint(method: .get, path: "/districts/{districtId}/listings", operationID: "districtListings",
                     summary: "The listings inside a district (and so its sub-districts)", tag: "Search",
                     pathParameters: [ParameterSpec("districtId", .string, required: true, "A district's id")],
                     query: districtQuery, produces: MediaTypes.geoJSON) { [state] request, context in
                let p = try QueryParameters(request, allowed: districtQuery, extra: false)
                let id = context.parameters.get("districtId") ?? ""
                return Self.geoJSON(try state.engine.listings(inDistrict: id.removingPercentEncoding ?? id, filter: try Self.filter(p),
                                                              limit: try Limit(try p.int("limit") ?? 100),
                                                              after: try p["cursor"].map(PageCursor.init(parsing:))))
            },
            Endpoint(method: .get, path: "/indicators", operationID: "indicators",
                     summary: "Supply and demand per district, choropleth-ready; figures from fewer than 5 records withheld",
                     tag: "Indicators", query: indicatorQuery, produces: MediaTypes.geoJSON) { [state] request, _ in
                let p = try QueryParameters(request, allowed: indicatorQuery, extra: false)
                func date(_ name: String, _ fallback: String) throws -> ISODate {
                    let text = p[name] ?? fallback
                    guard let d = ISODate(parsing: text) else {
                        throw RGISError(.malformedInput, "\(name) '\(text)' is not a date (YYYY-MM-DD)", at: "parameter \(name)")
                    }
                    return d
                }
                let today = ISO8601DateFormatter.string(from: Date(), timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])
                let end = try date("as_of", today)
                let start = try date("since", "\(Int(end.text.prefix(4))! - 1)" + end.text.dropFirst(4).prefix(6))
                let options = try IndicatorOptions(level: try IndicatorOptions.level(parsing: p["level"] ?? "district"), asOf: end, periodStart: start)
                return Self.geoJSON(try state.engine.indicators(options))
            },
        ]
    }

    /// Reads a JSON body of at most ``ServerLimits/maxBodyBytes`` (413 past that).
    static func body(_ request: Request, _ context: ServerContext) async throws -> JSONValue {
        var request = request
        let buffer = try await request.collectBody(upTo: ServerLimits.maxBodyBytes)
        guard buffer.readableBytes > 0 else { throw RGISError(.malformedInput, "the request has no body; send GeoJSON", at: "body") }
        do {
            return try JSONValue.parse(Array(buffer.readableBytesView))
        } catch let error as RGISError {
            throw error.located("body")
        }
    }
}
