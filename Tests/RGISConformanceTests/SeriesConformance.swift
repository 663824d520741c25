import Foundation
import Testing
import RGISCore
import RGISFiles
@testable import RGISQuery
import RGISStore
import RGISTesting

/// What the market figures read from a store, on every backend: dated history imported whole or not
/// at all, series of one district, and indicators and kept series that follow every write of the
/// market (``FeatureStore/marketChangeToken()``, the series stamps of ``FeatureStore/marketHistory(level:districts:)``
/// and ``FeatureStore/keptSeries(level:district:)``).
@Suite("Conformance: market history, series and the figures that follow writes")
struct SeriesConformance {
    static let today = ISODate(parsing: "2026-12-02")!

    /// A district's series stamp, as the store reads it with the district's rows.
    static func stamp(_ store: any Store, _ id: String, level: DistrictLevel = .subdistrict) async throws -> Int64 {
        guard let fid = try await store.district(id: id).features.first?.fid,
              let district = try await store.marketHistory(level: level, districts: [fid]).districts.first(where: { $0.id == id }) else {
            throw RGISError(.notFound, "no \(level.rawValue) \(id)")
        }
        return district.stamp
    }

    /// The first listing of `listings` with a price that lies inside district `id` (not on its edge, where
    /// it may be placed in a neighbour).
    static func pricedListing(_ store: any Store, in listings: [StoredFeature], district id: String) async throws -> StoredFeature? {
        for listing in listings where (listing.properties["list_price"]?.number ?? 0) > 0 {
            let places = try await store.districts(containing: try Shapes.point(listing))
            if places.features.contains(where: { $0.id == id }) { return listing }
        }
        return nil
    }

    @Test("a history file is checked row by row: the first bad row names its line and field and nothing is stored; a second import adds nothing, and none is pushed to saved searches",
          arguments: Backends.all)
    func historyImport(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        func events() async throws -> Int { try await store.info().events }
        let before = try await events()
        let header = ChangeHistory.columns.joined(separator: ",")
        let good = "listings,L00001,price_change,500000,480000,2026-03-01\n"
        let cases: [(String, String)] = [
            ("layer,record,kind,old,new,at\n" + good, "line 1: the header"),
            (header + "\n" + good + "parcels,P-0-0-0,price_change,1,2,2026-03-01\n", "line 3: field layer"),
            (header + "\n" + good + "listings,NOPE,price_change,1,2,2026-03-01\n", "line 3: field record_id: no listings record 'NOPE'"),
            (header + "\n" + good + "listings,L00001,update,1,2,2026-03-01\n", "line 3: field kind"),
            (header + "\n" + good + "listings,L00001,price_change,lots,2,2026-03-01\n", "line 3: field old_value"),
            (header + "\n" + good + "listings,L00001,status_change,active,sold,2026-03-01\n", "line 3: field new_value: 'sold' is not a listing status"),
            (header + "\n" + good + "listings,L00001,price_change,1,2,2026-02-30\n", "line 3: field at"),
            (header + "\n" + good + "listings,L00001,price_change,1,2,2999-01-01\n", "line 3: field at: 2999-01-01 is after today"),
            (header + "\n" + good + "listings,L00001,price_change,1,2\n", "line 3: 5 fields"),
            (header + "\n", "holds no changes"),
        ]
        for (text, message) in cases {
            let path = try dir.write("history.csv", text)
            let error = await #expect(throws: RGISError.self) { try await store.importEvents(from: path) }
            #expect(error?.description.contains(message) == true, "\(String(describing: error))")
            #expect(try await events() == before)
        }
        // A saved search is active: history still goes to the series only, never to the change feed.
        _ = try await store.addSubscription(demand: "R00002", try AlertSettings(channel: .email("agent@example.test")), by: .fileOwner, now: Date())
        let path = try dir.write("history.csv", header + "\r\n" + good + "demands,R00001,status_change,active,paused,2026-04-02T10:00:00Z\r\n")
        let first = try await store.importEvents(from: path)
        #expect((first.rowsRead, first.recorded, first.alreadyRecorded) == (2, 2, 0))
        let again = try await store.importEvents(from: path)
        #expect((again.rowsRead, again.recorded, again.alreadyRecorded) == (2, 0, 2))
        #expect(try await events() == before + 2)
        let listing = try #require(try await store.events(.listings, id: "L00001").last)
        let demand = try #require(try await store.events(.demands, id: "R00001").last)
        #expect([listing.at, demand.at] == ["2026-03-01T00:00:00Z", "2026-04-02T10:00:00Z"])
        #expect(listing.kind.rawValue == "price_change" && demand.kind.rawValue == "status_change")
        #expect(try await store.matchWindow(limit: 10).isEmpty, "imported history is never pushed to saved searches")
    }

    @Test("a series of a district that is not at the level is not found, naming the parameter; one subdistrict's series has its months",
          arguments: Backends.all)
    func oneDistrictsSeries(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let defaults = try SeriesOptions(RequestParameters(), today: Self.today)
        let engine = QueryEngine(try await backend.demoCity(in: dir))
        let missing = await #expect(throws: RGISError.self) {
            try await engine.series(try SeriesOptions(level: .district, district: "D1-1", from: defaults.from, to: defaults.to))
        }
        #expect(missing?.code == .notFound && missing?.description.contains("parameter district") == true)
        let one = try await engine.series(try SeriesOptions(level: .subdistrict, district: "D1-1", from: defaults.from, to: defaults.to))
        #expect(one.districts.map(\.id) == ["D1-1"] && one.districts[0].months.count == 24)
        #expect(one.csv.split(separator: "\r\n").count == 25)
    }

    @Test("indicators are kept while the market does not change, and follow every write of it: record writes, a bulk import",
          arguments: Backends.all)
    func figuresFollowWrites(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        let engine = QueryEngine(store)
        let options = try IndicatorOptions(level: .subdistrict, asOf: ISODate(parsing: "2026-11-23")!, periodStart: ISODate(parsing: "2025-11-23")!)
        func active(_ page: FeaturePage, _ id: String) -> Double? { page.features.first { $0.id == id }?.properties["active_listings"]?.number }
        let first = try await engine.indicators(options)
        let version = try await store.marketChangeToken()
        #expect(active(try await engine.indicators(options), "D1-1") == active(first, "D1-1"))
        #expect(try await store.marketChangeToken() == version)
        // Every active listing of D1-1 withdrawn by record writes: the next answer counts none.
        var activeOnly = ListingFilter()
        activeOnly.statuses = [.active]
        let withdrawn = try JSONValue.parse(Array(#"{"properties":{"status":"withdrawn"}}"#.utf8))
        let inD11 = try await store.listings(inDistrict: "D1-1", filter: activeOnly, limit: Limit(Limit.maximum), after: nil)
        for listing in inD11.features {
            _ = try await store.change(.listing, id: listing.id, .mergePatch(withdrawn), condition: WriteCondition())
        }
        #expect(try await store.marketChangeToken() != version)
        #expect((active(first, "D1-1") ?? 0) >= 5)
        #expect(active(try await engine.indicators(options), "D1-1") == 0)
        // A bulk import moves the token too.
        let before = try await store.marketChangeToken()
        let fresh = try dir.write("fresh.geojson", """
            {"type":"FeatureCollection","features":[{"type":"Feature","id":"N1","geometry":{"type":"Point","coordinates":[9.01,48.01]},"properties":{"status":"active"}},
             {"type":"Feature","id":"N2","geometry":{"type":"Point","coordinates":[9.02,48.01]},"properties":{"status":"active"}}]}
            """)
        _ = try await store.importFeatures(from: fresh, options: ImportOptions(layer: .listings))
        #expect(try await store.marketChangeToken() != before)
    }

    @Test("kept series: a write computes again only the districts it touches (a price, a history event, a bulk import, districts redrawn), and kept equals afresh",
          arguments: Backends.all)
    func keptSeriesFollowWrites(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        let engine = QueryEngine(store)
        let options = try SeriesOptions(level: .subdistrict, from: YearMonth(parsing: "2025-01")!, to: YearMonth(parsing: "2026-11")!)
        let subdistricts = try await store.districts(level: .subdistrict).count
        let levels = try await store.count(.districts)
        func computed() async throws -> Int { try await engine.computeSeries(options, keeping: true, today: Self.today).computed }
        func agrees() async throws -> Bool {
            try await engine.series(options, reusing: .kept).json == engine.series(options, reusing: .none).json
        }
        func stamp(_ id: String, _ level: DistrictLevel = .subdistrict) async throws -> Int64 { try await Self.stamp(store, id, level: level) }
        var activeOnly = ListingFilter()
        activeOnly.statuses = [.active]

        #expect(try await computed() == subdistricts)
        #expect(try await computed() == 0)
        #expect(try await agrees())
        // Publishing one level's series withholds counts with every level in view, so every level is kept.
        var kept = 0
        for level in DistrictLevel.allCases {
            kept += try await store.keptSeries(level: level, district: nil).districts.filter { $0.figures != nil }.count
        }
        #expect(kept == levels && levels > subdistricts)

        // One price in D1-1: D1-1 (and its district and the city) move, the other subdistricts stay.
        let d11 = try await stamp("D1-1"), d12 = try await stamp("D1-2")
        let activeInD11 = try await store.listings(inDistrict: "D1-1", filter: activeOnly, limit: Limit(Limit.maximum), after: nil)
        let priced = try #require(try await Self.pricedListing(store, in: activeInD11.features, district: "D1-1"))
        let price = try #require(priced.properties["list_price"]?.number)
        let cut = try JSONValue.parse(Array(#"{"properties":{"list_price":\#(price * 0.9)}}"#.utf8))
        _ = try await store.change(.listing, id: priced.id, .mergePatch(cut), condition: WriteCondition())
        #expect(try await stamp("D1-1") > d11)
        #expect(try await stamp("D1-2") == d12)
        #expect(try await stamp("D1", .district) > 0)
        #expect(try await computed() == 1)
        #expect(try await agrees())
        // A write that changes nothing the series read moves no stamp.
        let painted = try JSONValue.parse(Array(#"{"properties":{"address":"freshly painted"}}"#.utf8))
        let inD12 = try await store.listings(inDistrict: "D1-2", filter: ListingFilter(), limit: Limit(Limit.maximum), after: nil)
        for listing in inD12.features {
            _ = try await store.change(.listing, id: listing.id, .mergePatch(painted), condition: WriteCondition())
        }
        #expect(try await stamp("D1-2") == d12)
        #expect(try await computed() == 0)

        // A dated change imported as history: its record's subdistrict only.
        var found: (listing: String, district: String)?
        let others = try await store.districts(level: .subdistrict).filter { $0.id != "D1-1" }
        for district in others {
            let listings = try await store.listings(inDistrict: district.id, filter: activeOnly, limit: Limit(Limit.maximum), after: nil)
            if let listing = try await Self.pricedListing(store, in: listings.features, district: district.id) {
                found = (listing.id, district.id)
                break
            }
        }
        let record = try #require(found)
        let history = try dir.write("history.csv", ChangeHistory.columns.joined(separator: ",") + "\nlistings,\(record.listing),price_change,999999,888888,2025-06-15\n")
        let before = try await stamp(record.district)
        _ = try await store.importEvents(from: history)
        #expect(try await stamp(record.district) > before)
        #expect(try await computed() == 1)
        #expect(try await agrees())

        // Kept figures under an older stamp never replace newer ones.
        let fid = try #require(try await store.district(id: "D1-1").features.first?.fid)
        try await store.keepSeries([KeptSeries.Entry(district: fid, stamp: 0, figures: "stale")])
        let keptD11 = try await store.keptSeries(level: .subdistrict, district: "D1-1").districts.first?.figures
        #expect(keptD11 != nil && keptD11 != "stale")
        #expect(try await computed() == 0)

        // A bulk import of listings: the districts of what it wrote move (N1's subdistrict among them).
        let placesOfN1 = try await store.districts(containing: Position(lon: 9.01, lat: 48.01))
        let n1Place = try #require(placesOfN1.features.first(where: { $0.properties["level"]?.stringValue == DistrictLevel.subdistrict.rawValue }))
        let n1Stamp = try await stamp(n1Place.id)
        let fresh = try dir.write("fresh.geojson", """
            {"type":"FeatureCollection","features":[{"type":"Feature","id":"N1","geometry":{"type":"Point","coordinates":[9.01,48.01]},"properties":{"status":"active","list_date":"2026-02-01"}}]}
            """)
        _ = try await store.importFeatures(from: fresh, options: ImportOptions(layer: .listings))
        #expect(try await stamp(n1Place.id) > n1Stamp)
        #expect(try await computed() >= 1)
        #expect(try await agrees())

        // Districts imported again: the district written moves.
        let d11Before = try await stamp("D1-1")
        let d11Shape = try await store.feature(.districts, id: "D1-1").geometryGeoJSON
        let redrawn = try dir.write("district.geojson", """
            {"type":"FeatureCollection","features":[{"type":"Feature","id":"D1-1","geometry":\(d11Shape),"properties":{"name":"Altstadt Nord","level":"subdistrict","parent_id":"D1"}}]}
            """)
        var replace = ImportOptions(layer: .districts)
        replace.upsert = true
        _ = try await store.importFeatures(from: redrawn, options: replace)
        #expect(try await stamp("D1-1") > d11Before)
        #expect(try await computed() >= 1)

        // The background keeper's pass: everything the writes touched, at every level, then nothing.
        try await store.delete(.listing, id: "N1", condition: WriteCondition())
        let firstPass = try await engine.keepSeriesCurrent(today: Self.today)
        #expect(firstPass > 0 && firstPass < levels, "N1's subdistrict, district and city, and the levels not yet kept")
        #expect(try await engine.keepSeriesCurrent(today: Self.today) == 0)
        #expect(try await engine.alerts(asOf: Self.today, levels: DistrictLevel.allCases, reusing: .kept).active.map(\.districtID)
                == engine.alerts(asOf: Self.today, levels: DistrictLevel.allCases, reusing: .none).active.map(\.districtID))
    }
}
