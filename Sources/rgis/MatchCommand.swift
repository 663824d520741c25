import ArgumentParser
import Foundation
import RGISCore
import RGISQuery
import RGISStore

struct MatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match",
        abstract: "Match client demand and listings, both ways, with a score and the reasons.",
        discussion: """
            A listing fits a demand when it lies in the demand's search area and meets its criteria \
            (type, bedrooms, budget and living area, each with 10 % stretch). Results are ranked by a score \
            from 0 to 100: price fit 40, size fit 30, closeness to the search area's centre 30.
            """,
        subcommands: [MatchClientCommand.self, MatchListingCommand.self]
    )
}

struct MatchClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "client", abstract: "The listings that fit a client's demand, best first.")

    @OptionGroup var target: DatabaseArgument
    @Option(help: "The demand's id.") var demand: String
    @Option(help: "Most listings to return (1–10000).") var limit: Int = 100
    @Option(help: "Output: geojson, or table for people.") var format: PageOptions.OutputFormat = .geojson

    func run() async throws {
        try await reportingErrors {
            let page = try await engine(target).listings(matchingDemand: demand, limit: try Limit(limit))
            PageOptions.print(page, as: format)
        }
    }
}

struct MatchListingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listing",
        abstract: "The active demands a listing fits, with owning agent and client id (never contact data).")

    @OptionGroup var target: DatabaseArgument
    @Option(help: "A stored listing's id.") var listing: String?
    @Option(help: "A new listing, not stored: a GeoJSON Feature with a Point, from a file or - for standard input.") var geojson: String?
    @Option(help: "Output: geojson, or table for people.") var format: PageOptions.OutputFormat = .geojson

    func validate() throws {
        if (listing == nil) == (geojson == nil) { throw ValidationError("give either --listing ID or --geojson FILE") }
    }

    func run() async throws {
        try await reportingErrors {
            let engine = try engine(target)
            let page: FeaturePage
            if let listing {
                page = try await engine.demands(matchingListing: listing)
            } else if let geojson {
                let data = geojson == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: geojson)
                guard let data else { throw RGISError(.notFound, "no such file", at: geojson) }
                do {
                    page = try await engine.demands(matchingNewListing: JSONValue.parse(Array(data)))
                } catch let error as RGISError {
                    throw error.located(geojson == "-" ? "<stdin>" : geojson)
                }
            } else {
                return
            }
            PageOptions.print(page, as: format)
        }
    }
}

struct IndicatorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "indicators",
        abstract: "Supply and demand per district as a choropleth-ready GeoJSON FeatureCollection.",
        discussion: """
            Per district of a level: active listings, median list price per m², median days on market, \
            closed sales in the period, long-unsold share (over 180 days on market), active demands, median \
            budget, and demand/supply ratio. Figures from 1 to 4 records are withheld and named in "suppressed".
            """
    )

    @OptionGroup var target: DatabaseArgument
    @Option(help: "District level: city, district or subdistrict.") var level: String = "district"
    @Option(name: .customLong("as-of"), help: "The day the figures are for (YYYY-MM-DD; default today).") var asOf: String?
    @Option(help: "Closed sales are counted from this day (YYYY-MM-DD; default a year before --as-of).") var since: String?
    @Option(help: "Output: geojson, or table for people.") var format: PageOptions.OutputFormat = .geojson

    func run() async throws {
        try await reportingErrors {
            var p = RequestParameters()
            p.set("level", level)
            p.set("as_of", asOf)
            p.set("since", since)
            let page = try await engine(target).indicators(try IndicatorOptions(p, today: .today()))
            PageOptions.print(page, as: format)
        }
    }
}
