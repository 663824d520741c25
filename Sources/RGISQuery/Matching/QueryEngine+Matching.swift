import Foundation
import RGISCore
import RGISGeodesy
import RGISStore

/// Matching listings and client demand, both ways, with one set of rules (``MatchScore``) and one way
/// of placing a listing in a search area: PROJ's geodesic distance to the area's centroid, and the
/// area's geodesic size. So a pair scores the same whichever side asks.
extension QueryEngine {
    /// The score of a listing for a demand.
    public static func score(_ listing: ListingFacts, at position: Position, for demand: DemandTarget) -> (match: MatchScore, distanceMetres: Double) {
        score(listing, at: position, criteria: demand.criteria, centre: demand.centre, areaSquareMetres: demand.areaSquareMetres)
    }

    public static func score(_ listing: ListingFacts, at position: Position, for demand: DemandFit) -> (match: MatchScore, distanceMetres: Double) {
        score(listing, at: position, criteria: demand.criteria, centre: demand.centre, areaSquareMetres: demand.areaSquareMetres)
    }

    static func score(_ listing: ListingFacts, at position: Position, criteria: DemandCriteria, centre: Position,
                      areaSquareMetres: Double) -> (match: MatchScore, distanceMetres: Double) {
        let distance = Geodesic.distanceMetres(position, centre)
        let match = MatchScore(listing: listing, demand: criteria, distanceToCentreMetres: distance,
                               areaRadiusMetres: areaRadiusMetres(areaSquareMetres))
        return (match, distance)
    }

    /// The radius of a circle with the search area's area: the scale of "near the centre" (and the
    /// centre index's radius).
    /// The score alone, for ranking: the same as ``score(_:at:for:)``'s without its words.
    public static func scoreValue(_ listing: ListingFacts, at position: Position, for demand: DemandFit) -> Double {
        MatchScore.score(listing: listing, demand: demand.criteria, distanceToCentreMetres: Geodesic.distanceMetres(position, demand.centre),
                         areaRadiusMetres: areaRadiusMetres(demand.areaSquareMetres))
    }

    static func areaRadiusMetres(_ areaSquareMetres: Double) -> Double {
        (areaSquareMetres / .pi).squareRoot()
    }

    /// How many demands a reverse match returns unless asked: the best 50.
    public static let defaultDemandLimit = 50

    static func facts(_ feature: StoredFeature) -> ListingFacts {
        ListingFacts(price: feature.properties["list_price"]?.number, livingAreaM2: feature.properties["living_area_m2"]?.number,
                     bedrooms: feature.properties["bedrooms"]?.number.map { Int(saturating: $0) },
                     propertyType: { if case .string(let s)? = feature.properties["property_type"] { s } else { nil } }())
    }

    /// Client → listings: the active listings inside a demand's search area that fit its criteria,
    /// best score first (then nearer the centre, then storage order), each with `score`, `reasons` and
    /// `distance_to_centre_m`.
    /// Only the demand's agent (or an admin) may ask: `.forbidden` for anyone else.
    public func listings(matchingDemand id: String, limit: Limit, for caller: Caller = .fileOwner) async throws -> FeaturePage {
        let (demand, candidates) = try await features.listingsFitting(demand: id)
        guard caller.owns(agent: demand.feature.properties["agent"]?.stringValue) else {
            throw RGISError(.forbidden, "demand '\(id)' belongs to another agent", at: "demandId")
        }
        var scored: [(score: Double, distance: Double, feature: StoredFeature)] = candidates.map { candidate in
            var feature = candidate.feature
            let (match, distance) = Self.score(Self.facts(feature), at: candidate.position, for: demand)
            feature.properties["score"] = .double(match.score)
            feature.properties["reasons"] = .array(match.reasons.map(JSONValue.string))
            feature.properties["distance_to_centre_m"] = .double((distance * 10).rounded() / 10)
            return (match.score, distance, feature)
        }
        scored.sort { ($0.score, -$0.distance, -$0.feature.fid) > ($1.score, -$1.distance, -$1.feature.fid) }
        return FeaturePage(features: scored.prefix(limit.value).map(\.feature), next: nil)
    }

    /// Listing → clients: the active demands whose search area holds a stored listing and whose
    /// criteria it meets, the best `limit` by score, with the owning agent and client id (never
    /// contact data) and how many matched in all.
    public func demands(matchingListing id: String, limit: Int = QueryEngine.defaultDemandLimit) async throws -> FeaturePage {
        let listing: StoredFeature
        do {
            listing = try await features.feature(.listings, id: id)
        } catch let error as RGISError where error.code == .notFound {
            throw RGISError(.notFound, "no listing with id '\(id)'", at: "parameter listing")
        }
        guard case .point(let p)? = try? Geometry(geoJSON: JSONValue.parse(Array(listing.geometryGeoJSON.utf8))) else {
            throw RGISError(.database, "listing '\(id)' has no point geometry")
        }
        return try await demands(matching: Self.facts(listing), at: p, limit: limit)
    }

    /// Listing → clients for a listing not yet stored, given as a GeoJSON Feature (validated like an import).
    public func demands(matchingNewListing feature: JSONValue, limit: Int = QueryEngine.defaultDemandLimit) async throws -> FeaturePage {
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
        return try await demands(matching: ListingFacts(price: number("list_price"), livingAreaM2: number("living_area_m2"),
                                                        bedrooms: number("bedrooms").map { Int(saturating: $0) }, propertyType: type), at: p, limit: limit)
    }

    /// What a caller sees of a listing → clients match: an admin every demand; an agent their own in
    /// full and only how many of other agents' demands matched.
    public static func visible(_ page: FeaturePage, to caller: Caller) -> MatchedDemands {
        let shown = page.features.filter { caller.owns(agent: $0.properties["agent"]?.stringValue) }
        return MatchedDemands(page: FeaturePage(features: shown, next: nil), othersMatched: page.features.count - shown.count)
    }

    /// The best `limit` fitting demands, read in ``FitReach/rounds`` (near the centres first, where
    /// the best scores are; ``FitReach/next(found:limit:)``) until a round settles them; then only those are read whole. How many
    /// matched in all is known only when a round had to read everywhere.
    private func demands(matching listing: ListingFacts, at p: Position, limit: Int) async throws -> FeaturePage {
        var ranked: [(fit: DemandFit, score: Double)] = []
        var fits: [DemandFit] = []
        var everything = false
        var reach: FitReach? = FitReach.rounds[0], read: FitReach? = nil
        while let round = reach {
            // Each round reads only the ring the previous left; together they are the round's reach.
            fits += try await features.demandsFitting(listing, at: p, reach: round, beyond: read)
            ranked = Self.rank(fits, listing, at: p)
            read = round
            everything = round == .everywhere
            if round.settles(bestFirst: ranked.prefix(limit).map(\.score), limit: limit) { break }
            reach = round.next(found: ranked.count, limit: limit)
        }
        let kept = ranked.prefix(limit)
        let byFid = Dictionary(kept.map { ($0.fit.fid, $0.fit) }, uniquingKeysWith: { a, _ in a })
        let shown = try await features.demandFeatures(fids: kept.map(\.fit.fid)).map { feature -> StoredFeature in
            var feature = feature
            if let fit = byFid[feature.fid] {
                let match = Self.score(listing, at: p, for: fit).match
                feature.properties["score"] = .double(match.score)
                feature.properties["reasons"] = .array(match.reasons.map(JSONValue.string))
            }
            return feature
        }
        return FeaturePage(features: shown, next: nil, numberMatched: everything ? ranked.count : nil)
    }

    /// Best score first, then storage order: scores alone (the reasons are worded for the few kept).
    public static func rank(_ fits: [DemandFit], _ listing: ListingFacts, at p: Position) -> [(fit: DemandFit, score: Double)] {
        fits.map { ($0, scoreValue(listing, at: p, for: $0)) }
        .sorted { ($0.score, -$0.fit.fid) > ($1.score, -$1.fit.fid) }
    }
}

/// The demands a listing fits, as one caller may see them.
public struct MatchedDemands: Sendable {
    public let page: FeaturePage
    /// Matches among other agents' demands, counted but not shown.
    public let othersMatched: Int
}
