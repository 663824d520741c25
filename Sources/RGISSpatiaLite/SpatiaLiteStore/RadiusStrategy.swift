import RGISCore
import RGISStore

/// How the SpatiaLite backend carries out a radius search: its own plan, chosen per query
/// (``chosen(for:)``); callers above the store ask for a radius and never see it.
public enum RadiusStrategy: String, Sendable, CaseIterable {
    /// Points without a filter: settled in the R*Tree from each entry's box; only the page's rows and
    /// the few whose box straddles the rim or the page's cut are read.
    case pointsInIndex
    /// Points with a filter: the R*Tree and the filter give candidates with coordinates; distances are
    /// computed in process (PROJ's geodesic); only the page's rows are read whole.
    case pointCandidates
    /// Polygons (parcels, buildings): R*Tree candidates, then SpatiaLite's exact ellipsoidal distance.
    case exactDistance

    /// The plan for `query`: points settle in the index unless a filter needs their rows; polygons
    /// need the exact distance.
    public static func chosen(for query: RadiusQuery) -> RadiusStrategy {
        guard query.layer.layer.storedGeometry == .point else { return .exactDistance }
        return query.filter.isEmpty ? .pointsInIndex : .pointCandidates
    }
}
