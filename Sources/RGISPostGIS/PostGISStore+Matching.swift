import Foundation
import PostgresNIO
import RGISCore
import RGISStore

/// The inputs of matching, both ways, in PostGIS: the hard rules of a fit are SQL, so that only
/// fitting rows leave the database; the score is computed above the store (``MatchScore``).
/// Containment goes through the GiST index on the demand's or the listing's geometry; the reach of a
/// round is the closeness radius (a demand's centroid and spheroid area, kept in generated columns).
extension PostGISStore {
    public func listingsFitting(demand id: String) async throws -> (demand: DemandTarget, listings: [ListingCandidate]) {
        try await read { session in
            var wanted = SQLText("SELECT \(FeatureRows.columns(.demands, alias: "d")), \(Self.demandFacts) FROM demands d WHERE d.id = ")
            wanted.bind(id)
            guard let row = try await session.rows(wanted).first else {
                throw RGISError(.notFound, "no demand with id '\(id)'", at: "parameter demand")
            }
            let n = FeatureRows.count(.demands)
            let demand = DemandTarget(feature: try FeatureRows.feature(row, layer: .demands), criteria: try Self.criteria(row, from: n),
                                      centre: Position(lon: try row[n + 6].decode(Double?.self) ?? 0, lat: try row[n + 7].decode(Double?.self) ?? 0),
                                      areaSquareMetres: try row[n + 8].decode(Double?.self) ?? 0)
            var q = SQLText("SELECT \(FeatureRows.columns(.listings)), ST_X(t.geom), ST_Y(t.geom) FROM demands d JOIN listings t ON ST_Within(t.geom, d.geom) WHERE d.id = ")
            q.bind(id)
            q.sql(" AND t.status = 'active' AND " + Self.fitRules(price: "t.list_price", area: "t.living_area_m2", bedrooms: "t.bedrooms", type: "t.property_type"))
            let count = FeatureRows.count(.listings)
            let listings = try await session.rows(q).map { row in
                ListingCandidate(feature: try FeatureRows.feature(row, layer: .listings),
                                 position: Position(lon: try row[count].decode(Double.self), lat: try row[count + 1].decode(Double.self)))
            }
            return (demand, listings)
        }
    }

    public func demandsFitting(_ listing: ListingFacts, at point: Position, reach: FitReach, beyond known: FitReach?) async throws -> [DemandFit] {
        if known == .everywhere { return [] }
        var q = SQLText("WITH p AS (SELECT ST_SetSRID(ST_MakePoint(")
        q.bind(point.lon)
        q.sql(", ")
        q.bind(point.lat)
        q.sql("), 4326) AS g, ")
        q.bind(listing.price)
        q.sql("::float8 AS price, ")
        q.bind(listing.livingAreaM2)
        q.sql("::float8 AS area, ")
        q.bind(listing.bedrooms.map(Int64.init))
        q.sql("::bigint AS bedrooms, ")
        q.bind(listing.propertyType)
        q.sql("::text AS type) SELECT \(Self.demandFitColumns) FROM p JOIN demands d ON ST_Contains(d.geom, p.g) WHERE d.status = 'active' AND ")
        q.sql(Self.fitRules(price: "p.price", area: "p.area", bedrooms: "p.bedrooms", type: "p.type"))
        Self.appendReach(to: &q, point: "p.g", reach: reach, beyond: known)
        let rows = try await rows(q)
        return try translating { try rows.map { try Self.demandFit($0, from: 0) } }
    }

    /// A demand whose closeness can reach c has its centroid within (1 − c) × its closeness radius
    /// (a hair more: the score measures on the ellipsoid its own way). The same expression bounds the
    /// round read before (`known`), so that rounds read each demand once.
    static func appendReach(to q: inout SQLText, point: String, reach: FitReach, beyond known: FitReach?) {
        let distance = "ST_Distance(d.fit_centre::geography, \(point)::geography)"
        let radius = "sqrt(d.fit_area_m2 / pi())"
        if case .nearCentre(let closeness) = reach {
            q.sql(" AND \(distance) <= ")
            q.bind((1 - closeness) * 1.0001)
            q.sql("::float8 * \(radius)")
        }
        if case .nearCentre(let closeness)? = known {
            q.sql(" AND NOT (\(distance) <= ")
            q.bind((1 - closeness) * 1.0001)
            q.sql("::float8 * \(radius))")
        }
    }

    /// A demand's fit from ``demandFitColumns`` at `n`.
    static func demandFit(_ row: PostgresRandomAccessRow, from n: Int) throws -> DemandFit {
        DemandFit(fid: try row[n].decode(Int64.self), id: try row[n + 1].decode(String.self), criteria: try criteria(row, from: n + 2),
                  centre: Position(lon: try row[n + 8].decode(Double.self), lat: try row[n + 9].decode(Double.self)),
                  areaSquareMetres: try row[n + 10].decode(Double.self))
    }

    public func demandFeatures(fids: [Int64]) async throws -> [StoredFeature] {
        guard !fids.isEmpty else { return [] }
        var q = SQLText("SELECT \(FeatureRows.columns(.demands)) FROM demands t WHERE t.fid = ANY(")
        q.bind(fids)
        q.sql(")")
        let rows = try await rows(q)
        let found = try translating { try rows.map { try FeatureRows.feature($0, layer: .demands) } }
        let byFid = Dictionary(uniqueKeysWithValues: found.map { ($0.fid, $0) })
        return fids.compactMap { byFid[$0] }
    }

    /// A demand's criteria, centroid and area, after its fid and id (``demandFacts`` without them).
    static let demandFitColumns = "d.fid, d.id, \(demandFacts)"
    static let demandFacts = """
        d.budget_min, d.budget_max, d.bedrooms_min, d.property_types, d.area_min_m2, d.area_max_m2,
        ST_X(d.fit_centre), ST_Y(d.fit_centre), d.fit_area_m2
        """

    static func criteria(_ row: PostgresRandomAccessRow, from n: Int) throws -> DemandCriteria {
        DemandCriteria(budgetMin: try row[n].decode(Double?.self), budgetMax: try row[n + 1].decode(Double?.self),
                       bedroomsMin: try row[n + 2].decode(Int64?.self).map { Int($0) },
                       propertyTypes: (try row[n + 3].decode(String?.self) ?? "").split(separator: ",").map(String.init),
                       areaMinM2: try row[n + 4].decode(Double?.self), areaMaxM2: try row[n + 5].decode(Double?.self))
    }

    /// The hard rules of a fit, over listing values and the demand `d`. Missing facts do not exclude;
    /// the stretch lets a listing be a little over budget or size (0: a full fit, within them).
    static func fitRules(price: String, area: String, bedrooms: String, type: String, stretch: Double = MatchScore.stretch) -> String {
        return """
            (d.property_types IS NULL OR \(type) IS NULL OR position(',' || \(type) || ',' IN ',' || d.property_types || ',') > 0)
            AND (d.bedrooms_min IS NULL OR \(bedrooms) IS NULL OR \(bedrooms) >= d.bedrooms_min)
            AND (d.budget_max IS NULL OR \(price) IS NULL OR \(price) <= d.budget_max * (1 + \(stretch)))
            AND (d.area_min_m2 IS NULL OR \(area) IS NULL OR \(area) >= d.area_min_m2 * (1 - \(stretch)))
            AND (d.area_max_m2 IS NULL OR \(area) IS NULL OR \(area) <= d.area_max_m2 * (1 + \(stretch)))
            """
    }
}
