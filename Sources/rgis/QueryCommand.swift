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

    func filter() throws -> ListingFilter {
        var f = ListingFilter()
        f.priceMin = priceMin
        f.priceMax = priceMax
        f.bedroomsMin = bedrooms
        f.propertyTypes = try type.map(ListingFilter.propertyTypes(parsing:)) ?? []
        f.statuses = try status.map(ListingFilter.statuses(parsing:)) ?? []
        f.livingAreaMinM2 = areaMin
        f.livingAreaMaxM2 = areaMax
        f.yearBuiltMin = yearMin
        f.yearBuiltMax = yearMax
        if let listedSince {
            guard let date = ISODate(parsing: listedSince) else {
                throw RGISError(.malformedInput, "listed-since '\(listedSince)' is not a date (YYYY-MM-DD)", at: "parameter listed-since")
            }
            f.listedSince = date
        }
        try f.validate()
        return f
    }
}

/// Layer, page size, cursor and output format.
struct PageOptions: ParsableArguments {
    @Option(help: "The layer to query: listings, parcels or buildings.") var layer: String = "listings"
    @Option(help: "Most features to return (1–10000).") var limit: Int = 100
    @Option(help: "Continue after the page that returned this cursor.") var cursor: String?
    @Option(help: "Output: geojson, or table for people.") var format: OutputFormat = .geojson

    enum OutputFormat: String, ExpressibleByArgument { case geojson, table }

    func queryLayer() throws -> QueryLayer {
        guard let l = QueryLayer(rawValue: layer.lowercased()) else {
            throw RGISError(.invalidValue, "layer '\(layer)' cannot be queried; use listings, parcels or buildings", at: "parameter layer")
        }
        return l
    }

    func pageCursor() throws -> PageCursor? { try cursor.map(PageCursor.init(parsing:)) }

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

    func centre() throws -> Centre { try Centre(lon: lon, lat: lat) }
}

struct RadiusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "radius", abstract: "Features within a geodesic radius of a point, nearest first, with distance_m.")

    @OptionGroup var target: DatabaseArgument
    @OptionGroup var centre: CentreOptions
    @Option(name: .customLong("radius-m"), help: "Radius in metres (1–100000).") var radiusMetres: Double
    @OptionGroup var filter: FilterOptions
    @OptionGroup var page: PageOptions

    func run() throws {
        try reportingErrors {
            var query = RadiusQuery(centre: try centre.centre(), radius: try RadiusMetres(radiusMetres), limit: try Limit(page.limit))
            query.layer = try page.queryLayer()
            query.filter = try filter.filter()
            query.after = try page.pageCursor()
            page.print(try QueryEngine(RGISDatabase.open(at: target.database)).radius(query))
        }
    }
}

struct NearestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "nearest", abstract: "The k nearest features to a point, with distance_m.")

    @OptionGroup var target: DatabaseArgument
    @OptionGroup var centre: CentreOptions
    @Option(help: "How many (1–10000).") var k: Int = 10
    @OptionGroup var filter: FilterOptions
    @Option(help: "The layer to query: listings, parcels or buildings.") var layer: String = "listings"
    @Option(help: "Output: geojson, or table for people.") var format: PageOptions.OutputFormat = .geojson

    func run() throws {
        try reportingErrors {
            var query = NearestQuery(centre: try centre.centre(), k: try Limit(k, parameter: "k"))
            var options = PageOptions()
            options.layer = layer
            options.format = format
            query.layer = try options.queryLayer()
            query.filter = try filter.filter()
            options.print(try QueryEngine(RGISDatabase.open(at: target.database)).nearest(query))
        }
    }
}

struct PolygonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polygon",
        abstract: "Features intersecting (or --within) a polygon.",
        discussion: "The polygon is a GeoJSON Polygon or MultiPolygon geometry, Feature, or FeatureCollection of one feature, from a file or - for standard input.")

    @OptionGroup var target: DatabaseArgument
    @Option(help: "GeoJSON file with the polygon, or - for standard input.") var geometry: String
    @Flag(help: "Only features entirely within the polygon (default: any that intersect it).") var within = false
    @OptionGroup var filter: FilterOptions
    @OptionGroup var page: PageOptions

    func run() throws {
        try reportingErrors {
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
            var query = PolygonQuery(area: area, limit: try Limit(page.limit))
            query.predicate = within ? .within : .intersects
            query.layer = try page.queryLayer()
            query.filter = try filter.filter()
            query.after = try page.pageCursor()
            page.print(try QueryEngine(RGISDatabase.open(at: target.database)).polygon(query))
        }
    }
}

struct BBoxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bbox", abstract: "Features meeting a lon/lat box.")

    @OptionGroup var target: DatabaseArgument
    @Option(parsing: .unconditional, help: "minx,miny,maxx,maxy in degrees; minx > maxx crosses the antimeridian.") var bbox: String
    @OptionGroup var filter: FilterOptions
    @OptionGroup var page: PageOptions

    func run() throws {
        try reportingErrors {
            var query = BBoxQuery(bbox: try BBox(parsing: bbox), limit: try Limit(page.limit))
            query.layer = try page.queryLayer()
            query.filter = try filter.filter()
            query.after = try page.pageCursor()
            page.print(try QueryEngine(RGISDatabase.open(at: target.database)).bbox(query))
        }
    }
}

struct DistrictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "district",
        abstract: "The districts containing a point, or a district with its children (--id), or its listings (--id … --listings).")

    @OptionGroup var target: DatabaseArgument
    @Option(parsing: .unconditional, help: "Longitude of the point.") var lon: Double?
    @Option(parsing: .unconditional, help: "Latitude of the point.") var lat: Double?
    @Option(help: "A district id.") var id: String?
    @Flag(help: "With --id: the listings inside the district (and so its sub-districts).") var listings = false
    @OptionGroup var filter: FilterOptions
    @OptionGroup var page: PageOptions

    func validate() throws {
        if id == nil && (lon == nil || lat == nil) { throw ValidationError("give --lon and --lat, or --id") }
        if id != nil && (lon != nil || lat != nil) { throw ValidationError("give either --lon/--lat or --id, not both") }
        if listings && id == nil { throw ValidationError("--listings needs --id") }
    }

    func run() throws {
        try reportingErrors {
            let engine = QueryEngine(try RGISDatabase.open(at: target.database))
            if let id {
                if listings {
                    page.print(try engine.listings(inDistrict: id, filter: try filter.filter(), limit: try Limit(page.limit), after: try page.pageCursor()))
                } else {
                    page.print(try engine.district(id: id))
                }
            } else if let lon, let lat {
                page.print(try engine.districts(containing: try Centre(lon: lon, lat: lat)))
            }
        }
    }
}
