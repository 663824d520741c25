/// How a radius search is carried out; chosen by the query planner, carried out by the store.
public enum RadiusStrategy: String, Sendable, CaseIterable {
    /// Points without a filter: settled in the R*Tree from each entry's box; only the page's rows and
    /// the few whose box straddles the rim or the page's cut are read.
    case pointsInIndex
    /// Points with a filter: the R*Tree and the filter give candidates with coordinates; distances are
    /// computed in process (PROJ's geodesic); only the page's rows are read whole.
    case pointCandidates
    /// Polygons (parcels, buildings): R*Tree candidates, then SpatiaLite's exact ellipsoidal distance.
    case exactDistance
}
