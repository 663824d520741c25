import ArgumentParser
import Foundation
import RGISBackends
import RGISCore
import RGISFiles
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
            let engine = try await engine(target)
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
        abstract: "Supply and demand per district: a choropleth-ready snapshot, or monthly series.",
        discussion: """
            Per district of a level: active listings and their floor area (vacant_floor_area_m2), median list \
            price per m², median days on market, closed sales in the period, the listings on the market longer \
            than --long-unsold-days (default 180): their count, share and floor area, active demands, median \
            budget, and demand/supply ratio, as GeoJSON. Figures from 1 to 4 records are withheld and named \
            in "suppressed", and as many more counts (with their floor areas) as it takes that none follows \
            from a district's subdistricts.

            With --series: per district and month, new listings, closed sales, active inventory at month \
            end, median list and close price per m², median days on market, price-cut share, months of \
            supply, absorption rate, active and new demands, median budget, demand/supply ratio, and each \
            one's change from a year before ("yoy"), as JSON (or --format csv), with the same rule.

            With --segments FIELD: clients with active demand per district by age_band, household, \
            income_band or lifecycle_stage, as JSON (or --format csv); cells of 1 to 4 clients are withheld, \
            and as many more as it takes that none follows from a total.

            With --unmet: per district, the active demands that the active listings serve (a listing fits \
            within the budget and the wanted area range), serve only by a near fit (every fitting listing \
            needs the matching rule's 10 % stretch over the budget or outside the area range) or leave \
            unmet (no active listing in the search area fits), and the demands, unmet demands and listings \
            in each cell of wanted type × bedrooms × size band × budget band, with the largest unmet cells \
            first in "top_unmet". A demand counts in one cell: its first wanted type, its least bedrooms, \
            the band of its least living area and of its top budget. Counts of 1 to 4 are withheld, and as \
            many more as it takes that none follows from a total. As GeoJSON (a map layer), csv or xlsx.

            With --forecast: per district, active inventory, months of supply, median list price per m², \
            active demands and closed sales forecast 1 to --horizon months (default 12) past the last \
            complete month, with 80 % and 95 % intervals, by damped-trend exponential smoothing from up to \
            five years of the published monthly series (a withheld month is missing), each beside its \
            rolling-origin backtest: MASE against seasonal naive and how often the intervals held the \
            month. Fewer than 18 observed months give no forecast, and say so. Each forecast lists the alert \
            rules on its figure whose threshold the last observed month is within and a forecast month \
            crosses ("expected_alerts", "basis": "forecast": expected, not observed, and never among the \
            alerts in force). As JSON, csv or xlsx.

            Examples: rgis indicators city.sqlite --level subdistrict --as-of 2026-06-30
                      rgis indicators city.sqlite --series --district D2 --from 2025-01 --to 2026-12 --format csv
                      rgis indicators city.sqlite --segments household --level subdistrict
                      rgis indicators city.sqlite --unmet --level district --budget-bands 300000,600000,900000 --format csv
                      rgis indicators city.sqlite --forecast --district D2 --horizon 6
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case geojson, table, json, csv, gpkg, shp, fgb, xlsx }

    @OptionGroup var target: DatabaseArgument
    @Option(help: "District level: city, district or subdistrict.") var level: String = "district"
    @Option(name: .customLong("as-of"), help: "The day the figures are for (YYYY-MM-DD; default today).") var asOf: String?
    @Option(help: "Closed sales are counted from this day (YYYY-MM-DD; default a year before --as-of).") var since: String?
    @Option(name: .customLong("long-unsold-days"), help: "Active listings on the market more than this many days count as long unsold (1–3650; default 180, a year is 365).")
    var longUnsoldDays: Int?
    @Flag(help: "Monthly series instead of one day's figures.") var series = false
    @Option(help: "Clients with active demand per district by segment instead: age_band, household, income_band or lifecycle_stage.")
    var segments: String?
    @Flag(help: "Unmet demand per district and cell of type × bedrooms × size × budget instead.") var unmet = false
    @Flag(help: "Forecasts of the monthly series, with intervals and their backtest, instead.") var forecast = false
    @Option(help: "With --forecast: months ahead, 1–12 (default 12).") var horizon: Int?
    @Option(help: "With --forecast: the alert rules file (as rgis alerts --rules) whose thresholds the forecasts are checked against (default the built-in rules).")
    var rules: String?
    @Option(name: .customLong("size-bands"), help: "With --unmet: the size bands' edges in m², ascending (default 40,60,80,120).")
    var sizeBands: String?
    @Option(name: .customLong("budget-bands"), help: "With --unmet: the budget bands' edges, ascending (default 200000,400000,700000,1000000).")
    var budgetBands: String?
    @Option(help: "With --unmet: how many of each district's largest unmet cells to name (default 5).") var top: Int?
    @Option(help: "With --series or --forecast: one district, by id (default every district of the level).") var district: String?
    @Option(help: "With --series: the first month (YYYY-MM; default 23 months before --to).") var from: String?
    @Option(help: "With --series: the last month (YYYY-MM; default this month).") var to: String?
    @Option(help: "Output: geojson, table, csv, or the files gpkg, shp, fgb, xlsx (the snapshot, with the districts' geometry but xlsx); json, csv or xlsx (--series, --segments). Default geojson, or json; or what --output's name says.")
    var format: Format?
    @Option(help: "The file to write (replaced when complete) instead of standard output; needed for gpkg, shp, fgb and xlsx.")
    var output: String?

    /// --format, else what --output's name says, else the default of the answer asked for.
    private var chosenFormat: Format? {
        format ?? output.flatMap { ExportFormat(fileName: $0) }.flatMap { Format(rawValue: $0.rawValue) }
            .map { $0 == .geojson && (series || segments != nil || forecast) ? .json : $0 }
    }

    func validate() throws {
        let format = chosenFormat
        if let format, [.gpkg, .shp, .fgb, .xlsx].contains(format), output == nil {
            throw ValidationError("--format \(format.rawValue) is a file; give --output FILE")
        }
        if forecast {
            if series || unmet || segments != nil || asOf != nil || since != nil || longUnsoldDays != nil || from != nil || to != nil
                || sizeBands != nil || budgetBands != nil || top != nil {
                throw ValidationError("--forecast takes only --level, --district, --horizon, --rules, --format and --output")
            }
            if let format, ![.json, .csv, .xlsx].contains(format) { throw ValidationError("--format \(format.rawValue) is not for --forecast; use json, csv or xlsx") }
            return
        } else if horizon != nil || rules != nil {
            throw ValidationError("--horizon and --rules need --forecast")
        }
        if unmet {
            if series || segments != nil || asOf != nil || since != nil || longUnsoldDays != nil || district != nil || from != nil || to != nil {
                throw ValidationError("--unmet takes only --level, --size-bands, --budget-bands, --top, --format and --output")
            }
            if let format, ![.geojson, .csv, .xlsx].contains(format) {
                throw ValidationError("--format \(format.rawValue) is not for --unmet; use geojson, csv or xlsx")
            }
            return
        } else if sizeBands != nil || budgetBands != nil || top != nil {
            throw ValidationError("--size-bands, --budget-bands and --top need --unmet")
        }
        if segments != nil {
            if series || asOf != nil || since != nil || longUnsoldDays != nil || district != nil || from != nil || to != nil {
                throw ValidationError("--segments takes only --level and --format")
            }
            if let format, ![.json, .csv, .xlsx].contains(format) { throw ValidationError("--format \(format.rawValue) is not for --segments; use json, csv or xlsx") }
        } else if series {
            if asOf != nil || since != nil || longUnsoldDays != nil {
                throw ValidationError("--as-of, --since and --long-unsold-days are for the snapshot; a series takes --from and --to")
            }
            if let format, ![.json, .csv, .xlsx].contains(format) { throw ValidationError("--format \(format.rawValue) is not for --series; use json, csv or xlsx") }
        } else {
            if district != nil || from != nil || to != nil { throw ValidationError("--district needs --series or --forecast; --from and --to need --series") }
            if format == .json { throw ValidationError("--format json is for --series and --segments; the snapshot is geojson, table or csv") }
        }
    }

    /// The answer on standard output, or in --output's file.
    private func write(_ bytes: [UInt8]) async throws {
        guard let output else { return Console.out(String(decoding: bytes, as: UTF8.self)) }
        try AtomicFile.write(bytes, to: output, sparing: try await StoreLocation.open(target.database))
        Console.note("written to \(output)")
    }

    func run() async throws {
        let format = chosenFormat
        try await reportingErrors {
            var p = RequestParameters()
            p.set("level", level)
            if forecast {
                p.set("district", district)
                p.set("horizon", horizon)
                let result = try await engine(target).forecasts(try ForecastOptions(p, today: .today()),
                                                                rules: try rules.map(AlertRules.reading(file:)) ?? AlertRules())
                return try await write(format == .xlsx ? try SheetFile.xlsx(name: "forecasts", csv: result.csv)
                                 : Array((format == .csv ? result.csv : result.json.jsonText + "\n").utf8))
            }
            if unmet {
                p.set("top", top)
                let page = try await engine(target).unmetDemand(try UnmetDemandOptions(p, bands: try UnmetBands(size: sizeBands, budget: budgetBands)))
                switch format {
                case .csv?: return try await write(Array(QueryEngine.unmetDemandCSV(page).utf8))
                case .xlsx?: return try await write(try SheetFile.xlsx(name: "unmet", csv: QueryEngine.unmetDemandCSV(page)))
                default: return try await write(Array(page.geoJSON.utf8))
                }
            }
            if let segments {
                p.set("by", segments)
                let table = try await engine(target).segments(level: try IndicatorOptions.level(parsing: level), by: try ClientSegment(p))
                return try await write(format == .xlsx ? try SheetFile.xlsx(name: "segments", csv: table.csv)
                                 : Array((format == .csv ? table.csv : table.json.jsonText + "\n").utf8))
            }
            if series {
                p.set("district", district)
                p.set("from", from)
                p.set("to", to)
                let result = try await engine(target).series(try SeriesOptions(p, today: .today()))
                return try await write(format == .xlsx ? try SheetFile.xlsx(name: "series", csv: result.csv)
                                 : Array((format == .csv ? result.csv : result.json.jsonText + "\n").utf8))
            }
            p.set("as_of", asOf)
            p.set("since", since)
            p.set("long_unsold_days", longUnsoldDays)
            let page = try await engine(target).indicators(try IndicatorOptions(p, today: .today()))
            switch format {
            case .csv?: try await write(Array(QueryEngine.indicatorsCSV(page).utf8))
            case .table?: try await write(Array(FeatureTable.render(page).utf8))
            case .gpkg?, .shp?, .fgb?, .xlsx?:
                let features = try JSONValue.parse(Array(page.geoJSON.utf8))["features"]?.arrayValue ?? []
                try await write(try FeatureFile.encode(features, layer: .districts, format: ExportFormat(rawValue: format!.rawValue)!))
            default: try await write(Array(page.geoJSON.utf8))
            }
        }
    }
}
