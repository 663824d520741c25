import ArgumentParser
import Foundation
import RGISCore
import RGISQuery
import RGISStore

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Spatial queries: radius, nearest, polygon, bbox, district. GeoJSON on standard output.",
        discussion: """
            Distances are geodesic metres on WGS84. Every query goes through the spatial index. Results \
            come in pages: when there is more, the output's "next" member is a cursor for --cursor.
            """,
        subcommands: [RadiusCommand.self, NearestCommand.self, PolygonCommand.self, BBoxCommand.self, DistrictCommand.self]
    )
}

/// The typed listing filter, shared by every query command.
struct FilterOptions: ParsableArguments {
    @Option(name: .customLong("price-min"), help: "Lowest list price.") var priceMin: Double?
    @Option(name: .customLong("price-max"), help: "Highest list price.") var priceMax: Double?
    @Option(help: "At least this many bedrooms.") var bedrooms: Int?
    @Option(help: "Property types, comma-separated: \(PropertyType.allCases.map(\.rawValue).joined(separator: ", ")).") var type: String?
    @Option(help: "Listing statuses, comma-separated: \(ListingStatus.allCases.map(\.rawValue).joined(separator: ", ")).") var status: String?
    @Option(name: .customLong("area-min"), help: "Smallest living area in m².") var areaMin: Double?
    @Option(name: .customLong("area-max"), help: "Largest living area in m².") var areaMax: Double?
    @Option(name: .customLong("year-min"), help: "Built in or after this year.") var yearMin: Int?
    @Option(name: .customLong("year-max"), help: "Built in or before this year.") var yearMax: Int?
    @Option(name: .customLong("listed-since"), help: "Listed on or after this date (YYYY-MM-DD).") var listedSince: String?

    /// The options under their HTTP parameter names, for the constructors both surfaces share.
    func add(to p: inout RequestParameters) {
        p.set("price_min", priceMin)
        p.set("price_max", priceMax)
        p.set("bedrooms", bedrooms)
        p.set("type", type)
        p.set("status", status)
        p.set("area_min", areaMin)
        p.set("area_max", areaMax)
        p.set("year_min", yearMin)
        p.set("year_max", yearMax)
        p.set("listed_since", listedSince)
    }

    func filter() throws -> ListingFilter {
        var p = RequestParameters()
        add(to: &p)
        return try ListingFilter(p)
    }
}

/// Layer, page size, cursor and output format.
struct PageOptions: ParsableArguments {
    @Option(help: "The layer to query: listings, parcels or buildings.") var layer: String = "listings"
    @Option(help: "Most features to return (1–10000).") var limit: Int = 100
    @Option(help: "Continue after the page that returned this cursor.") var cursor: String?
    @Option(help: "Output: geojson, or table for people.") var format: OutputFormat = .geojson

    enum OutputFormat: String, ExpressibleByArgument { case geojson, table }

    func add(to p: inout RequestParameters) {
        p.set("layer", layer)
        p.set("limit", limit)
        p.set("cursor", cursor)
    }

    func print(_ page: FeaturePage) { Self.print(page, as: format) }

    static func print(_ page: FeaturePage, as format: OutputFormat) {
        switch format {
        case .geojson: Console.out(page.geoJSON)
        case .table: Console.out(FeatureTable.render(page))
        }
    }
}

struct CentreOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Longitude of the centre, degrees (WGS84).") var lon: Double
    @Option(parsing: .unconditional, help: "Latitude of the centre, degrees (WGS84).") var lat: Double

    func add(to p: inout RequestParameters) {
        p.set("lon", lon)
        p.set("lat", lat)
    }
}

struct RadiusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "radius", abstract: "Features within a geodesic radius of a point, nearest first, with distance_m.")

    @OptionGroup var target: DatabaseArgument
    @OptionGroup var centre: CentreOptions
    @Option(name: .customLong("radius-m"), help: "Radius in metres (1–100000).") var radiusMetres: Double
    @OptionGroup var filter: FilterOptions
    @OptionGroup var page: PageOptions

    func run() async throws {
        try await reportingErrors {
            var p = RequestParameters()
            centre.add(to: &p)
            p.set("radius_m", radiusMetres)
            filter.add(to: &p)
            page.add(to: &p)
            page.print(try await engine(target).radius(try RadiusQuery(p)))
        }
    }
}

struct NearestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "nearest", abstract: "The k nearest features to a point, with distance_m.")

    @OptionGroup var target: DatabaseArgument
    @OptionGroup var centre: CentreOptions
    @Option(help: "How many (1–10000).") var k: Int = 10
    @OptionGroup var filter: FilterOptions
    @Option(help: "The layer to query: listings, parcels or buildings.") var layer: String = "listings"
    @Option(help: "Output: geojson, or table for people.") var format: PageOptions.OutputFormat = .geojson

    func run() async throws {
        try await reportingErrors {
            var p = RequestParameters()
            centre.add(to: &p)
            p.set("k", k)
            p.set("layer", layer)
            filter.add(to: &p)
            PageOptions.print(try await engine(target).nearest(try NearestQuery(p)), as: format)
        }
    }
}

struct PolygonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polygon",
        abstract: "Features intersecting (or --within) a polygon.",
        discussion: "The polygon is a GeoJSON Polygon or MultiPolygon geometry, Feature, or FeatureCollection of one feature, from a file or - for standard input.")

    @OptionGroup var target: DatabaseArgument
    @Option(help: "GeoJSON file with the polygon, or - for standard input.") var geometry: String
    @Flag(help: "Only features entirely within the polygon (default: any that intersect it).") var within = false
    @OptionGroup var filter: FilterOptions
    @OptionGroup var page: PageOptions

    func run() async throws {
        try await reportingErrors {
            let data: Data
            if geometry == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                guard let d = FileManager.default.contents(atPath: geometry) else {
                    throw RGISError(.notFound, "no such file", at: geometry)
                }
                data = d
            }
            let area: SearchArea
            do {
                area = try SearchArea(geoJSON: JSONValue.parse(Array(data)))
            } catch let error as RGISError {
                throw error.located(geometry == "-" ? "<stdin>" : geometry)
            }
            var p = RequestParameters()
            p.set("within", within)
            filter.add(to: &p)
            page.add(to: &p)
            page.print(try await engine(target).polygon(try PolygonQuery(area: area, p)))
        }
    }
}

struct BBoxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bbox", abstract: "Features meeting a lon/lat box.")

    @OptionGroup var target: DatabaseArgument
    @Option(parsing: .unconditional, help: "minx,miny,maxx,maxy in degrees; minx > maxx crosses the antimeridian.") var bbox: String
    @OptionGroup var filter: FilterOptions
    @OptionGroup var page: PageOptions

    func run() async throws {
        try await reportingErrors {
            var p = RequestParameters()
            p.set("bbox", bbox)
            filter.add(to: &p)
            page.add(to: &p)
            page.print(try await engine(target).bbox(try BBoxQuery(p)))
        }
    }
}

struct DistrictCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "district",
        abstract: "The district holding a point at each level, or a district with its children (--id), or its listings (--id … --listings).",
        discussion: """
            A point belongs, at each level, to the district whose polygon covers it, its boundary included; \
            on an edge or vertex two districts share, to the one imported first. So districts of a level \
            that tile a region count every listing and demand exactly once, and --listings lists it once.
            """)

    @OptionGroup var target: DatabaseArgument
    @Option(parsing: .unconditional, help: "Longitude of the point.") var lon: Double?
    @Option(parsing: .unconditional, help: "Latitude of the point.") var lat: Double?
    @Option(help: "A district id.") var id: String?
    @Flag(help: "With --id: the listings placed in the district (and so in its sub-districts).") var listings = false
    @OptionGroup var filter: FilterOptions
    @OptionGroup var page: PageOptions

    func validate() throws {
        if id == nil && (lon == nil || lat == nil) { throw ValidationError("give --lon and --lat, or --id") }
        if id != nil && (lon != nil || lat != nil) { throw ValidationError("give either --lon/--lat or --id, not both") }
        if listings && id == nil { throw ValidationError("--listings needs --id") }
    }

    func run() async throws {
        try await reportingErrors {
            let engine = try await engine(target)
            var p = RequestParameters()
            page.add(to: &p)
            if let id {
                if listings {
                    page.print(try await engine.listings(inDistrict: id, filter: try filter.filter(), limit: try Limit(p, default: 100),
                                                         after: try PageCursor.from(p)))
                } else {
                    page.print(try await engine.district(id: id))
                }
            } else if let lon, let lat {
                page.print(try await engine.districts(containing: try Centre(lon: lon, lat: lat)))
            }
        }
    }
}
