import Foundation
import Testing
@testable import RGISCore

@Suite("Request values built once")
struct RequestValueTests {
    func date(_ text: String) -> ISODate { ISODate(parsing: text)! }

    @Test("calendar arithmetic: 29 February, month ends and year ends")
    func calendar() {
        #expect(date("2024-02-29").addingYears(-1).text == "2023-02-28")
        #expect(date("2024-02-29").addingYears(4).text == "2028-02-29")
        #expect(date("2024-03-31").addingMonths(-1).text == "2024-02-29")
        #expect(date("2023-03-31").addingMonths(-1).text == "2023-02-28")
        #expect(date("2026-01-15").addingMonths(-1).text == "2025-12-15")
        #expect(date("2025-12-31").addingMonths(1).text == "2026-01-31")
        #expect(date("2026-01-01").addingYears(-1).text == "2025-01-01")
        #expect(date("2000-02-29").addingYears(-100).text == "1900-02-28")
        #expect(ISODate.today(Date(timeIntervalSince1970: 1_709_164_800)).text == "2024-02-29")
    }

    @Test("indicator period: as_of on 29 February defaults since to 28 February a year before; nothing asked about since otherwise")
    func indicatorPeriod() throws {
        let leap = try IndicatorOptions(RequestParameters(["as_of": "2024-02-29"]), today: date("2026-12-01"))
        #expect(leap.asOf.text == "2024-02-29" && leap.periodStart.text == "2023-02-28" && leap.level == .district)
        let defaults = try IndicatorOptions(RequestParameters(), today: date("2026-12-01"))
        #expect(defaults.asOf.text == "2026-12-01" && defaults.periodStart.text == "2025-12-01")
        let given = try IndicatorOptions(RequestParameters(["level": "subdistrict", "as_of": "2026-06-30", "since": "2026-01-01"]), today: date("2026-12-01"))
        #expect(given.level == .subdistrict && given.periodStart.text == "2026-01-01")
        let badDate = #expect(throws: RGISError.self) { try IndicatorOptions(RequestParameters(["as_of": "2024-02-30"]), today: date("2026-12-01")) }
        #expect(badDate?.code == .malformedInput && badDate?.location == "parameter as_of")
        let backwards = #expect(throws: RGISError.self) {
            try IndicatorOptions(RequestParameters(["as_of": "2024-01-01", "since": "2024-06-01"]), today: date("2026-12-01"))
        }
        #expect(backwards?.code == .invalidValue && backwards?.location == "parameter since")
        let level = #expect(throws: RGISError.self) { try IndicatorOptions(RequestParameters(["level": "county"]), today: date("2026-12-01")) }
        #expect(level?.location == "parameter level")
    }

    @Test("the listing filter from parameters: typed, validated, each error naming its parameter")
    func listingFilter() throws {
        let f = try ListingFilter(RequestParameters(["price_min": "100000", "price_max": "600000", "bedrooms": "2", "type": "apartment,house",
                                                     "status": "active", "area_min": "40", "listed_since": "2026-01-01"]))
        #expect(f.priceMin == 100_000 && f.priceMax == 600_000 && f.bedroomsMin == 2 && f.propertyTypes == [.apartment, .house])
        #expect(f.statuses == [.active] && f.livingAreaMinM2 == 40 && f.listedSince?.text == "2026-01-01")
        #expect(try ListingFilter(RequestParameters()).isEmpty)
        for (parameters, code, location) in [
            (["price_min": "cheap"], RGISError.Code.malformedInput, "parameter price_min"),
            (["bedrooms": "2.5"], .malformedInput, "parameter bedrooms"),
            (["type": "castle"], .invalidValue, "parameter type"),
            (["price_min": "10", "price_max": "5"], .invalidValue, "parameter price_min"),
            (["listed_since": "yesterday"], .malformedInput, "parameter listed_since"),
            (["area_max": "-1"], .invalidValue, "parameter area_max"),
        ] {
            let error = #expect(throws: RGISError.self) { try ListingFilter(RequestParameters(parameters)) }
            #expect(error?.code == code && error?.location == location, "\(parameters)")
        }
    }

    @Test("a radius query from parameters: defaults, required values and ranges")
    func radiusQuery() throws {
        let q = try RadiusQuery(RequestParameters(["lon": "13.42", "lat": "52.54", "radius_m": "1500", "bedrooms": "2"]))
        #expect(q.centre.position == Position(lon: 13.42, lat: 52.54) && q.radius.value == 1500 && q.limit.value == 100 && q.layer == .listings)
        #expect(q.filter.bedroomsMin == 2 && q.after == nil)
        let missing = #expect(throws: RGISError.self) { try RadiusQuery(RequestParameters(["lon": "13.42", "lat": "52.54"])) }
        #expect(missing?.code == .malformedInput && missing?.location == "parameter radius_m")
        let far = #expect(throws: RGISError.self) { try RadiusQuery(RequestParameters(["lon": "13.42", "lat": "52.54", "radius_m": "200000"])) }
        #expect(far?.code == .invalidValue && far?.location == "parameter radius_m")
        let layer = #expect(throws: RGISError.self) { try RadiusQuery(RequestParameters(["lon": "1", "lat": "1", "radius_m": "10", "layer": "roads"])) }
        #expect(layer?.location == "parameter layer")
        let nearest = try NearestQuery(RequestParameters(["lon": "1", "lat": "2"]))
        #expect(nearest.k.value == 10)
    }

    @Test("an items query: limit clamped to 10000, property filters typed, unknown names refused")
    func itemsQuery() throws {
        let q = try ItemsQuery(layer: .listings, RequestParameters(["limit": "50000", "status": "active", "bedrooms": "3", "bbox": "13.4,52.5,13.5,52.6"]))
        #expect(q.limit.value == 10_000 && q.bbox != nil && q.equals.count == 2)
        let unknown = #expect(throws: RGISError.self) { try ItemsQuery(layer: .listings, RequestParameters(["colour": "red"])) }
        #expect(unknown?.code == .malformedInput && unknown?.location == "parameter colour")
        let temporal = #expect(throws: RGISError.self) { try ItemsQuery(layer: .districts, RequestParameters(["datetime": "2024-01-01"])) }
        #expect(temporal?.code == .invalidValue && temporal?.location == "parameter datetime")
    }
}

@Suite("Match score")
struct MatchScoreTests {
    let demand = DemandCriteria(budgetMin: 300_000, budgetMax: 500_000, bedroomsMin: 2, propertyTypes: ["apartment"], areaMinM2: 60, areaMaxM2: 90)

    @Test("a listing inside budget and size range at the centre scores 100")
    func perfect() {
        let s = MatchScore(listing: ListingFacts(price: 450_000, livingAreaM2: 75, bedrooms: 3, propertyType: "apartment"),
                           demand: demand, distanceToCentreMetres: 0, areaRadiusMetres: 1000)
        #expect(s.score == 100)
        #expect(s.reasons == ["inside the search area", "apartment is a wanted type", "3 bedrooms (at least 2 wanted)",
                              "price 450,000 within budget 300,000–500,000", "living area 75 m² within 60–90 m²",
                              "0.0 km from the search area's centre"])
    }

    @Test("5 % over budget, 5 % over the size range and half way to the rim: 20 + 15 + 15")
    func stretched() {
        let s = MatchScore(listing: ListingFacts(price: 525_000, livingAreaM2: 94.5, bedrooms: 2, propertyType: "apartment"),
                           demand: demand, distanceToCentreMetres: 500, areaRadiusMetres: 1000)
        #expect(s.score == 50)
        #expect(s.reasons.contains("price 525,000 is 5 % over budget 500,000"))
        #expect(s.reasons.contains("living area 94.5 m² is 5 % outside 60–90 m²"))
        #expect(s.reasons.last == "0.5 km from the search area's centre")
    }

    @Test("unknown price and area score half their points; beyond the radius location scores 0")
    func unknowns() {
        let s = MatchScore(listing: ListingFacts(price: nil, livingAreaM2: nil, bedrooms: nil, propertyType: nil),
                           demand: demand, distanceToCentreMetres: 1500, areaRadiusMetres: 1000)
        #expect(s.score == 35)
        #expect(s.reasons.contains("price or budget unknown") && s.reasons.contains("living area or wanted range unknown"))
    }

    @Test("below the budget's low end still scores full price points, named as below")
    func belowBudget() {
        let s = MatchScore(listing: ListingFacts(price: 250_000, livingAreaM2: 59, bedrooms: 2, propertyType: "apartment"),
                           demand: demand, distanceToCentreMetres: 250, areaRadiusMetres: 1000)
        // size: 1/60 under the range = 1.67 % → 30 × (1 − 0.1667) = 25.0; location 30 × 0.75 = 22.5.
        #expect(s.score == 87.5)
        #expect(s.reasons.contains("price 250,000 below budget 300,000–500,000"))
    }
}

@Suite("Record rules")
struct RecordRulesTests {
    let point = Geometry.point(Position(lon: 9, lat: 48))

    @Test("a replaced listing logs a price change and a status change, each with both values; an unchanged one logs nothing")
    func events() {
        let record = LayerRecord(id: "L1", geometry: point, values: ["list_price": .real(480_000), "status": .text("pending")], extra: [:])
        #expect(RecordRules.events(.listings, previous: nil, record: record).map(\.kind) == [.new])
        let changed = RecordRules.events(.listings, previous: (price: 500_000, status: "active"), record: record)
        #expect(changed == [
            RecordRules.ChangeEvent(kind: .priceChange, oldValue: .real(500_000), newValue: .real(480_000)),
            RecordRules.ChangeEvent(kind: .statusChange, oldValue: .text("active"), newValue: .text("pending")),
        ])
        #expect(RecordRules.events(.listings, previous: (price: 480_000, status: "pending"), record: record).isEmpty)
        #expect(RecordRules.events(.parcels, previous: nil, record: record).isEmpty, "parcels keep no history here")
    }

    @Test("a demand naming a client creates it with its segment; without an agent it is refused")
    func client() throws {
        var record = LayerRecord(id: "R1", geometry: point, values: ["client_id": .text("C1"), "agent": .text("agent-1")],
                                 extra: ["age_band": .string("30-39"), "household": .string("couple"), "colour": .string("blue")])
        let client = try #require(try RecordRules.client(of: &record))
        #expect(client == RecordRules.DemandClient(id: "C1", agent: "agent-1", ageBand: "30-39", household: "couple", incomeBand: nil, lifecycleStage: nil))
        #expect(record.extra == ["colour": .string("blue")], "the segment describes the client, not the demand")
        var orphan = LayerRecord(id: "R2", geometry: point, values: ["client_id": .text("C2")], extra: [:])
        let error = #expect(throws: RGISError.self) { try RecordRules.client(of: &orphan) }
        #expect(error?.code == .invalidValue)
        var anonymous = LayerRecord(id: "R3", geometry: point, values: [:], extra: [:])
        #expect(try RecordRules.client(of: &anonymous) == nil)
    }
}
