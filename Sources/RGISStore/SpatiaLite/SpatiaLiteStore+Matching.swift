import Foundation
import GRDB
import RGISCore

/// The inputs of matching, both ways. The hard rules of a fit are SQL (so that the R*Tree candidates
/// are cut down in the database); the score is computed above the store (``MatchScore``).
extension SpatiaLiteStore {
    public func listingsFitting(demand id: String) async throws -> (demand: DemandTarget, listings: [ListingCandidate]) {
        try await read { db in
            guard let row = try db.row("SELECT \(Self.demandSelection), MbrMinX(d.geom), MbrMinY(d.geom), MbrMaxX(d.geom), MbrMaxY(d.geom) FROM demands d WHERE d.id = \(id)") else {
                throw RGISError(.notFound, "no demand with id '\(id)'", at: "parameter demand")
            }
            let demand = Self.demandTarget(row)
            let n = Self.demandColumnCount
            let box = BBox.Part(west: row[n], south: row[n + 1], east: row[n + 2], north: row[n + 3])
            let listings = try db.rows(Self.listingsFittingSQL(demandID: id, box: box)).map { row -> ListingCandidate in
                let lonIndex = StoredFeature.columnCount(.listings) - 1
                return ListingCandidate(feature: StoredFeature(row: row, pointLayer: .listings),
                                        position: Position(lon: row[lonIndex], lat: row[lonIndex + 1]))
            }
            return (demand, listings)
        }
    }

    public func demandsFitting(_ listing: ListingFacts, at point: Position) async throws -> [DemandTarget] {
        try await read { db in try db.rows(Self.demandsFittingSQL(listing, at: point)).map(Self.demandTarget) }
    }

    // MARK: SQL

    /// The hard rules of a fit, over listing values and a demand table aliased `d`. Missing facts do
    /// not exclude; the stretch lets a listing be a little over budget or size.
    static func fitSQL(demand d: String = "d", price: SQL, area: SQL, bedrooms: SQL, type: SQL) -> SQL {
        let stretch = MatchScore.stretch
        let d = SQL(sql: d)
        return """
            (\(d).property_types IS NULL OR \(type) IS NULL OR instr(',' || \(d).property_types || ',', ',' || \(type) || ',') > 0)
            AND (\(d).bedrooms_min IS NULL OR \(bedrooms) IS NULL OR \(bedrooms) >= \(d).bedrooms_min)
            AND (\(d).budget_max IS NULL OR \(price) IS NULL OR \(price) <= \(d).budget_max * (1 + \(stretch)))
            AND (\(d).area_min_m2 IS NULL OR \(area) IS NULL OR \(area) >= \(d).area_min_m2 * (1 - \(stretch)))
            AND (\(d).area_max_m2 IS NULL OR \(area) IS NULL OR \(area) <= \(d).area_max_m2 * (1 + \(stretch)))
            """
    }

    /// A demand's feature, centroid and criteria.
    static let demandSelection: SQL = """
        \(StoredFeature.selection(.demands, alias: "d")), X(ST_Centroid(d.geom)), Y(ST_Centroid(d.geom)),
        d.budget_min, d.budget_max, d.bedrooms_min, d.property_types, d.area_min_m2, d.area_max_m2
        """
    static let demandColumnCount = StoredFeature.columnCount(.demands) + 8

    /// Criteria and centre as stored; the area by PROJ from the geometry, the same in both directions.
    static func demandTarget(_ row: Row) -> DemandTarget {
        let feature = StoredFeature(row: row, layer: .demands)
        let n = StoredFeature.columnCount(.demands)
        let criteria = DemandCriteria(budgetMin: row[n + 2], budgetMax: row[n + 3], bedroomsMin: row[n + 4],
                                      propertyTypes: ((row[n + 5] as String?) ?? "").split(separator: ",").map(String.init),
                                      areaMinM2: row[n + 6], areaMaxM2: row[n + 7])
        let shape = try? Geometry(geoJSON: JSONValue.parse(Array(feature.geometryGeoJSON.utf8)))
        return DemandTarget(feature: feature, criteria: criteria, centre: Position(lon: row[n] ?? 0, lat: row[n + 1] ?? 0),
                            areaSquareMetres: shape.map(Geodesic.areaSquareMetres) ?? 0)
    }

    static func listingsFittingSQL(demandID: String, box: BBox.Part) -> SQL {
        """
        WITH wanted AS MATERIALIZED (SELECT geom AS g, budget_min, budget_max, bedrooms_min, property_types, area_min_m2, area_max_m2
                                     FROM demands WHERE id = \(demandID))
        SELECT \(StoredFeature.pointSelection()) FROM wanted, listings t
        WHERE \(SpatialSQL.candidates(.listings, boxes: [box])) AND ST_Within(t.geom, wanted.g)
        -- `+` keeps SQLite from walking every active listing by the status index instead of the R*Tree.
        AND +t.status = 'active'
        AND \(fitSQL(demand: "wanted", price: "t.list_price", area: "t.living_area_m2", bedrooms: "t.bedrooms", type: "t.property_type"))
        """
    }

    /// Index-backed on the demand areas: the R*Tree finds the areas whose box holds the point.
    static func demandsFittingSQL(_ listing: ListingFacts, at p: Position) -> SQL {
        """
        WITH c(pt) AS MATERIALIZED (SELECT MakePoint(\(p.lon), \(p.lat), 4326))
        SELECT \(demandSelection)
        FROM c, demands d
        WHERE \(SpatialSQL.candidates(.demands, alias: "d", boxes: [BBox.Part(west: p.lon, south: p.lat, east: p.lon, north: p.lat)]))
          AND d.status = 'active'
          AND \(fitSQL(price: "\(listing.price)", area: "\(listing.livingAreaM2)", bedrooms: "\(listing.bedrooms)", type: "\(listing.propertyType)"))
          AND ST_Contains(d.geom, c.pt)
        """
    }
}
