import ArgumentParser
import Foundation
import RGISCore
import RGISQuery

struct ValuationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "valuation",
        abstract: "Value a listing, or a point with a type and size, by comparable sales nearby.",
        discussion: """
            The comparable sales are the closed sales of the subject's type within --radius-m (default \
            1000 m) that closed in the --months (default 24) before --as-of (default today), the 30 \
            nearest. Each is brought to the day by the subject district's median list price per m² (the \
            published monthly series), to the subject's living area in proportion, and to its age by 0.5 % \
            per year of difference in year built (at most 20 %); its adjustments are listed. The estimate is \
            the median of the adjusted prices and the range their quartiles; at least 3 sales are needed. \
            Active listings of the type there are shown too, marked, and not used. The method's accuracy \
            is measured on the stored sales (leave one out: each of up to 200 sales valued on the day \
            before it closed from the sales before it): the median absolute percentage error and how \
            often the sale fell in the range. GeoJSON: the subject, the comparables and the active \
            listings, for a map, with "estimate" and "accuracy" beside them.

            Examples: rgis valuation city.sqlite --listing L00042
                      rgis valuation city.sqlite --lon 9.05 --lat 48.02 --area-m2 72 --type apartment --year-built 1995
            """
    )

    @OptionGroup var target: DatabaseArgument
    @Option(help: "The listing to value (else --lon, --lat and --area-m2).") var listing: String?
    @Option(help: "Longitude of the point to value.") var lon: Double?
    @Option(help: "Latitude of the point to value.") var lat: Double?
    @Option(name: .customLong("area-m2"), help: "Living area, m² (required with --lon and --lat).") var areaM2: Double?
    @Option(help: "Property type: apartment, house, townhouse…") var type: String?
    @Option(name: .customLong("year-built"), help: "Year built.") var yearBuilt: Int?
    @Option(name: .customLong("radius-m"), help: "Comparables within this many metres (1–5000, default 1000).") var radiusM: Double?
    @Option(help: "Sales closed within this many months before --as-of (1–120, default 24).") var months: Int?
    @Option(name: .customLong("as-of"), help: "The day of the valuation (YYYY-MM-DD, default today).") var asOf: String?

    func run() async throws {
        try await reportingErrors {
            var p = RequestParameters()
            p.set("listing", listing)
            p.set("lon", lon)
            p.set("lat", lat)
            p.set("area_m2", areaM2)
            p.set("type", type)
            p.set("year_built", yearBuilt)
            p.set("radius_m", radiusM)
            p.set("months", months)
            p.set("as_of", asOf)
            Console.out(try await engine(target).valuation(try ValuationQuery(p, today: .today())))
        }
    }
}
