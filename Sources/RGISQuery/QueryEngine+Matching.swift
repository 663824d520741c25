import Foundation
import GRDB
import RGISCore
import RGISStore

/// Matching listings and client demand, both ways, with one set of rules (``MatchScore``).
extension QueryEngine {
    /// The hard rules of a fit, as SQL over listing expressions and a demand table alias `d`.
    /// Missing facts do not exclude; the stretch lets a listing be a little over budget or size.
    public static func fitSQL(price: String, area: String, bedrooms: String, type: String) -> String {
        """
        (d.property_types IS NULL OR \(type) IS NULL OR instr(',' || d.property_types || ',', ',' || \(type) || ',') > 0)
        AND (d.bedrooms_min IS NULL OR \(bedrooms) IS NULL OR \(bedrooms) >= d.bedrooms_min)
        AND (d.budget_max IS NULL OR \(price) IS NULL OR \(price) <= d.budget_max * (1 + \(MatchScore.stretch)))
        AND (d.area_min_m2 IS NULL OR \(area) IS NULL OR \(area) >= d.area_min_m2 * (1 - \(MatchScore.stretch)))
        AND (d.area_max_m2 IS NULL OR \(area) IS NULL OR \(area) <= d.area_max_m2 * (1 + \(MatchScore.stretch)))
        """
    }

    static let demandCriteriaColumns = "d.budget_min, d.budget_max, d.bedrooms_min, d.property_types, d.area_min_m2, d.area_max_m2"

    static func criteria(_ row: Row, at i: Int) -> DemandCriteria {
        DemandCriteria(budgetMin: row[i], budgetMax: row[i + 1], bedroomsMin: row[i + 2],
                       propertyTypes: ((row[i + 3] as String?) ?? "").split(separator: ",").map(String.init),
                       areaMinM2: row[i + 4], areaMaxM2: row[i + 5])
    }

    static func facts(_ feature: StoredFeature) -> ListingFacts {
        ListingFacts(price: feature.properties["list_price"]?.number, livingAreaM2: feature.properties["living_area_m2"]?.number,
                     bedrooms: feature.properties["bedrooms"]?.number.map { Int($0) },
                     propertyType: { if case .string(let s)? = feature.properties["property_type"] { s } else { nil } }())
    }

    /// Client → listings: the active listings inside a demand's search area that fit its criteria,
    /// best score first, each with `score` and `reasons`.
    public func listings(matchingDemand id: String, limit: Limit) throws -> FeaturePage {
        try database.read { db in
            guard let demand = try Row.fetchOne(db, sql: """
                SELECT MbrMinX(d.geom), MbrMinY(d.geom), MbrMaxX(d.geom), MbrMaxY(d.geom), ST_Area(d.geom, 1), \(Self.demandCriteriaColumns)
                FROM demands d WHERE d.id = ?
                """, arguments: [id]) else {
                throw RGISError(.notFound, "no demand with id '\(id)'", at: "parameter demand")
            }
            let criteria = Self.criteria(demand, at: 5)
            // The radius of a circle with the search area's area: the scale of "near the centre".
            let areaRadius = (((demand[4] as Double?) ?? 0) / .pi).squareRoot()
            let query = Self.demandListingsSQL(demandID: id, box: BBox.Part(west: demand[0], south: demand[1], east: demand[2], north: demand[3]))
            let rows = try Row.fetchAll(db, sql: query.sql, arguments: query.arguments)
            var scored: [(score: Double, distance: Double, feature: StoredFeature)] = rows.map { row in
                var feature = StoredFeature(row: row, layer: .listings)
                let distance: Double = row[StoredFeature.columnCount(.listings)]
                let match = MatchScore(listing: Self.facts(feature), demand: criteria, distanceToCentreMetres: distance,
                                       areaRadiusMetres: areaRadius)
                feature.properties["score"] = .double(match.score)
                feature.properties["reasons"] = .array(match.reasons.map(JSONValue.string))
                feature.properties["distance_to_centre_m"] = .double((distance * 10).rounded() / 10)
                return (match.score, distance, feature)
            }
            scored.sort { ($0.score, -$0.distance, -$0.feature.fid) > ($1.score, -$1.distance, -$1.feature.fid) }
            return FeaturePage(features: scored.prefix(limit.value).map(\.feature), next: nil)
        }
    }

    static func demandListingsSQL(demandID: String, box: BBox.Part) -> (sql: String, arguments: StatementArguments) {
        let candidates = SpatialSQL.candidates(.listings, boxes: [box])
        var arguments: StatementArguments = ["demand": demandID]
        let sql = """
            WITH d AS MATERIALIZED (SELECT geom AS g, ST_Centroid(geom) AS centre, \(demandCriteriaColumns.replacingOccurrences(of: "d.", with: ""))
                                    FROM demands WHERE id = :demand)
            SELECT \(StoredFeature.columns(.listings)), ST_Distance(t.geom, d.centre, 1) FROM d, listings t
            WHERE \(candidates.sql) AND ST_Within(t.geom, d.g) AND t.status = 'active'
            AND \(fitSQL(price: "t.list_price", area: "t.living_area_m2", bedrooms: "t.bedrooms", type: "t.property_type"))
            """
        return (namingPositional(sql, candidates.values, into: &arguments), arguments)
    }

    /// Listing → clients: the active demands whose search area holds a stored listing and whose
    /// criteria it meets, best score first, with the owning agent and client id (never contact data).
    public func demands(matchingListing id: String) throws -> FeaturePage {
        let listing: StoredFeature? = try database.read { db in
            try Row.fetchOne(db, sql: "SELECT \(StoredFeature.columns(.listings)) FROM listings t WHERE t.id = ?", arguments: [id])
                .map { StoredFeature(row: $0, layer: .listings) }
        }
        guard let listing else { throw RGISError(.notFound, "no listing with id '\(id)'", at: "parameter listing") }
        guard case .point(let p)? = try? Geometry(geoJSON: JSONValue.parse(Array(listing.geometryGeoJSON.utf8))) else {
            throw RGISError(.database, "listing '\(id)' has no point geometry")
        }
        return try demands(matching: Self.facts(listing), at: p)
    }

    /// Listing → clients for a listing not yet stored, given as a GeoJSON Feature (validated like an import).
    public func demands(matchingNewListing feature: JSONValue) throws -> FeaturePage {
        let record: LayerRecord
        do {
            record = try LayerRecordBuilder(layer: .listings).record(fromFeature: feature)
        } catch let error as RGISError {
            throw error.located("listing")
        }
        guard case .point(let p) = record.geometry else { throw RGISError(.invalidValue, "a listing is a Point", at: "listing") }
        func number(_ key: String) -> Double? {
            switch record.values[key] { case .real(let d)?: d; case .integer(let i)?: Double(i); default: nil }
        }
        let type: String? = if case .text(let s)? = record.values["property_type"] { s } else { nil }
        return try demands(matching: ListingFacts(price: number("list_price"), livingAreaM2: number("living_area_m2"),
                                                  bedrooms: number("bedrooms").map { Int($0) }, propertyType: type), at: p)
    }

    private func demands(matching listing: ListingFacts, at p: Position) throws -> FeaturePage {
        try database.read { db in
            let query = Self.listingDemandsSQL(listing, at: p)
            let rows = try Row.fetchAll(db, sql: query.sql, arguments: query.arguments)
            let n = StoredFeature.columnCount(.demands)
            var scored: [(Double, StoredFeature)] = rows.map { row in
                var feature = StoredFeature(row: row, layer: .demands)
                // Distance and area by PROJ here: SpatiaLite's ellipsoidal ST_Distance and ST_Area cost
                // tens of microseconds a call, which made them most of a reverse match.
                let distance = Geodesic.distanceMetres(p, Position(lon: row[n] ?? p.lon, lat: row[n + 1] ?? p.lat))
                let shape = try? Geometry(geoJSON: JSONValue.parse(Array(feature.geometryGeoJSON.utf8)))
                let area = shape.map(Geodesic.areaSquareMetres) ?? 0
                let match = MatchScore(listing: listing, demand: Self.criteria(row, at: n + 2), distanceToCentreMetres: distance,
                                       areaRadiusMetres: (area / .pi).squareRoot())
                feature.properties["score"] = .double(match.score)
                feature.properties["reasons"] = .array(match.reasons.map(JSONValue.string))
                return (match.score, feature)
            }
            scored.sort { ($0.0, -$0.1.fid) > ($1.0, -$1.1.fid) }
            return FeaturePage(features: scored.map(\.1), next: nil)
        }
    }

    /// Index-backed on the demand areas: the R*Tree finds the areas whose box holds the point.
    static func listingDemandsSQL(_ listing: ListingFacts, at p: Position) -> (sql: String, arguments: StatementArguments) {
        let candidates = SpatialSQL.candidates(.demands, alias: "d", boxes: [BBox.Part(west: p.lon, south: p.lat, east: p.lon, north: p.lat)])
        var arguments: StatementArguments = [
            "lon": p.lon, "lat": p.lat, "price": listing.price, "area": listing.livingAreaM2,
            "bedrooms": listing.bedrooms, "type": listing.propertyType,
        ]
        let sql = """
            WITH c(pt) AS MATERIALIZED (SELECT MakePoint(:lon, :lat, 4326))
            SELECT \(StoredFeature.columns(.demands, alias: "d")), X(ST_Centroid(d.geom)), Y(ST_Centroid(d.geom)),
                   \(demandCriteriaColumns)
            FROM c, demands d
            WHERE \(candidates.sql) AND d.status = 'active'
            AND \(fitSQL(price: ":price", area: ":area", bedrooms: ":bedrooms", type: ":type"))
            AND ST_Contains(d.geom, c.pt)
            """
        return (namingPositional(sql, candidates.values, into: &arguments), arguments)
    }
}
