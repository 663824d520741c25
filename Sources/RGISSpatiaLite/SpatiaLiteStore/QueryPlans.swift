import GRDB
import RGISCore
import RGISStore

/// SQLite's plans, for the tests that check every live path goes through an index: a diagnostic of
/// this backend, not a requirement of the store.
public protocol QueryPlanDiagnostics {
    /// SQLite's plan for each statement `query` runs.
    func queryPlans(_ query: PlannedQuery) async throws -> [String]
}

/// A query whose statements can be explained (``QueryPlanDiagnostics/queryPlans(_:)``).
public enum PlannedQuery: Sendable {
    case radius(RadiusQuery, RadiusStrategy)
    case polygon(PolygonQuery)
    case bbox(BBoxQuery)
    case items(ItemsQuery)
    case districtsContaining(Position)
    case listingsFitting(demand: String)
    case demandsFitting(ListingFacts, Position, FitReach, beyond: FitReach?)
    case indicators(DistrictLevel)
    case marketHistory(DistrictLevel)
    case segments(DistrictLevel, ClientSegment)
}

/// The statements behind each query, for the plan tests.
extension SpatiaLiteStore: QueryPlanDiagnostics {
    public func queryPlans(_ query: PlannedQuery) async throws -> [String] {
        try await read { db in
            let statements: [SQL]
            switch query {
            case .radius(let q, let strategy): statements = try RadiusSearch(query: q).statements(strategy)
            case .polygon(let q): statements = [try Self.polygonSQL(q, box: try Self.validBox(db, q.area))]
            case .bbox(let q): statements = [try Self.bboxSQL(q)]
            case .items(let q): statements = Self.itemsStatements(q)
            case .districtsContaining(let p): statements = [Self.containingSQL(p)]
            case .listingsFitting(let id): statements = [Self.listingsFittingSQL(demandID: id, box: BBox.Part(west: -1, south: -1, east: 1, north: 1))]
            case .demandsFitting(let facts, let p, let reach, let read): statements = [Self.demandsFittingSQL(facts, at: p, reach: reach, beyond: read)]
            case .indicators(let level):
                let day = ISODate(parsing: "2026-01-01")!
                statements = IndicatorSQL(level: level, asOf: day, periodStart: day.addingYears(-1)).statements
            case .marketHistory(let level):
                statements = HistorySQL(level: level, district: 1).statements
            case .segments(let level, let by):
                statements = [Self.segmentSQL(level: level, by: by)]
            }
            return try statements.flatMap { try db.queryPlan($0) }
        }
    }
}
