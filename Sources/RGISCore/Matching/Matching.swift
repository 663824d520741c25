import Foundation

/// What a demand asks for, as stored: the criteria both matching directions apply.
public struct DemandCriteria: Sendable {
    public var budgetMin: Double?
    public var budgetMax: Double?
    public var bedroomsMin: Int?
    public var propertyTypes: [String]
    public var areaMinM2: Double?
    public var areaMaxM2: Double?

    public init(budgetMin: Double?, budgetMax: Double?, bedroomsMin: Int?, propertyTypes: [String], areaMinM2: Double?, areaMaxM2: Double?) {
        self.budgetMin = budgetMin
        self.budgetMax = budgetMax
        self.bedroomsMin = bedroomsMin
        self.propertyTypes = propertyTypes
        self.areaMinM2 = areaMinM2
        self.areaMaxM2 = areaMaxM2
    }
}

/// The listing facts matching looks at.
public struct ListingFacts: Sendable {
    public var price: Double?
    public var livingAreaM2: Double?
    public var bedrooms: Int?
    public var propertyType: String?

    public init(price: Double?, livingAreaM2: Double?, bedrooms: Int?, propertyType: String?) {
        self.price = price
        self.livingAreaM2 = livingAreaM2
        self.bedrooms = bedrooms
        self.propertyType = propertyType
    }
}

/// How a listing fits a demand, with a score from 0 to 100 and the reasons, in words.
///
/// A listing *fits* when it lies inside the demand's search area, is active, is of a wanted type, has
/// at least the wanted bedrooms, costs at most ``stretch`` over the budget's top and has a living area
/// within ``stretch`` of the wanted range (missing facts do not exclude). Among fitting listings the
/// score ranks: price fit 40 points (full inside the budget, falling to 0 at the stretch limit), size
/// fit 30 points (the same rule on the area range), location 30 points (full at the centre of the
/// search area, falling to 0 at the radius of a circle of the same area).
public struct MatchScore: Sendable, Equatable {
    /// How far over the budget, or outside the area range, a listing may be and still fit: 10 %.
    public static let stretch = 0.10

    public let score: Double
    public let reasons: [String]

    /// The most points each part gives.
    public static let pricePoints = 40.0, areaPoints = 30.0, closenessPoints = 30.0

    /// Scores a fitting listing. `distanceToCentreMetres` and `areaRadiusMetres` place it in the search area.
    public init(listing: ListingFacts, demand: DemandCriteria, distanceToCentreMetres: Double, areaRadiusMetres: Double) {
        var reasons = ["inside the search area"]
        if let type = listing.propertyType, !demand.propertyTypes.isEmpty { reasons.append("\(type) is a wanted type") }
        if let b = listing.bedrooms, let min = demand.bedroomsMin { reasons.append("\(b) bedrooms (at least \(min) wanted)") }

        if let price = listing.price, let top = demand.budgetMax {
            let low = demand.budgetMin ?? 0
            if price <= top {
                reasons.append(price >= low ? "price \(Self.money(price)) within budget \(Self.money(low))–\(Self.money(top))"
                                            : "price \(Self.money(price)) below budget \(Self.money(low))–\(Self.money(top))")
            } else {
                reasons.append("price \(Self.money(price)) is \(Self.percent((price - top) / top)) over budget \(Self.money(top))")
            }
        } else {
            reasons.append("price or budget unknown")
        }

        if let area = listing.livingAreaM2, demand.areaMinM2 != nil || demand.areaMaxM2 != nil {
            let low = demand.areaMinM2 ?? 0, high = demand.areaMaxM2 ?? .infinity
            let range = high.isFinite ? "\(Self.number(low))–\(Self.number(high)) m²" : "at least \(Self.number(low)) m²"
            if area >= low && area <= high {
                reasons.append("living area \(Self.number(area)) m² within \(range)")
            } else {
                let off = area < low ? (low - area) / max(low, 1) : (area - high) / high
                reasons.append("living area \(Self.number(area)) m² is \(Self.percent(off)) outside \(range)")
            }
        } else {
            reasons.append("living area or wanted range unknown")
        }
        reasons.append(String(format: "%.1f km from the search area's centre", distanceToCentreMetres / 1000))
        self.score = Self.score(listing: listing, demand: demand, distanceToCentreMetres: distanceToCentreMetres, areaRadiusMetres: areaRadiusMetres)
        self.reasons = reasons
    }

    /// The score alone, to one decimal (what ranking needs; the words are for the few shown).
    public static func score(listing: ListingFacts, demand: DemandCriteria, distanceToCentreMetres: Double, areaRadiusMetres: Double) -> Double {
        var score = 0.0
        if let price = listing.price, let top = demand.budgetMax {
            score += price <= top ? pricePoints : pricePoints * max(0, 1 - (price - top) / top / stretch)
        } else {
            score += pricePoints / 2
        }
        if let area = listing.livingAreaM2, demand.areaMinM2 != nil || demand.areaMaxM2 != nil {
            let low = demand.areaMinM2 ?? 0, high = demand.areaMaxM2 ?? .infinity
            if area >= low && area <= high {
                score += areaPoints
            } else {
                let off = area < low ? (low - area) / max(low, 1) : (area - high) / high
                score += areaPoints * max(0, 1 - off / stretch)
            }
        } else {
            score += areaPoints / 2
        }
        score += closenessPoints * closeness(distanceToCentreMetres: distanceToCentreMetres, areaRadiusMetres: areaRadiusMetres)
        return (score * 10).rounded() / 10
    }

    /// 1 at the search area's centre, falling to 0 at the radius of a circle of the same area.
    public static func closeness(distanceToCentreMetres: Double, areaRadiusMetres: Double) -> Double {
        areaRadiusMetres > 0 ? max(0, 1 - distanceToCentreMetres / areaRadiusMetres) : 1
    }

    /// `1,250,000`: whole units with comma groups (by hand: a NumberFormatter per score costs more than the match).
    public static func money(_ v: Double) -> String {
        guard v.isFinite, abs(v) < 1e15 else { return String(v) }
        let digits = String(Int64(abs(v).rounded()))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return v < 0 ? "-" + out : out
    }

    /// `64` or `64.5`; a number too large for that (stored before ranges were checked) as Swift writes it.
    public static func number(_ v: Double) -> String {
        guard v.isFinite, abs(v) < 1e15 else { return String(v) }
        return v == v.rounded() ? String(Int64(v)) : String(format: "%.1f", v)
    }

    /// `12 %`; a share with no finite value (a budget of 0) as "far".
    static func percent(_ share: Double) -> String {
        guard share.isFinite, abs(share) < 1e13 else { return "far" }
        return "\(Int(saturating: share * 100)) %"
    }
}

/// How far a reverse match reads from a listing: only the demands whose centre is near enough for
/// the listing's closeness to it to reach `closeness` (a small part of them where search areas
/// overlap by thousands), or every demand whose area holds the listing. A best-k match takes the
/// ``rounds`` in turn and stops as soon as its k-th best score beats the ``ceiling`` of what it has
/// not read, so that the answer is the exact best k without scoring every fit.
public enum FitReach: Sendable, Hashable {
    case nearCentre(closeness: Double)
    case everywhere

    /// Narrowest first; the last reads everything.
    public static let rounds: [FitReach] = [.nearCentre(closeness: 0.9), .nearCentre(closeness: 0.8), .nearCentre(closeness: 0.6), .everywhere]

    /// The highest score (rounded as scores are) of a fit this reach leaves out: full price and
    /// size points and closeness below the threshold. Nothing is left out everywhere.
    public var ceiling: Double {
        switch self {
        case .nearCentre(let c):
            ((MatchScore.pricePoints + MatchScore.areaPoints + MatchScore.closenessPoints * c) * 10).rounded(.up) / 10
        case .everywhere: -.infinity
        }
    }

    /// The round after this one, which found `fits`: the next of ``rounds``, or everywhere at once
    /// when even the next reach, (1 − c′)² / (1 − c)² times as wide, would likely hold under a quarter
    /// of `limit` (a sparse place, where reading everything is cheap). Nil after everywhere. Any order
    /// of rounds gives the same answer; this one reads least.
    public func next(found fits: Int, limit: Int) -> FitReach? {
        guard case .nearCentre(let c) = self, let i = Self.rounds.firstIndex(of: self), i + 1 < Self.rounds.count else {
            return self == .everywhere ? nil : .everywhere
        }
        let following = Self.rounds[i + 1]
        guard case .nearCentre(let d) = following else { return following }
        let widening = (1 - d) * (1 - d) / ((1 - c) * (1 - c))
        return Double(fits) * widening * 4 < Double(limit) ? .everywhere : following
    }

    /// Whether the best `limit` of what this reach read are the best of all: the `limit`-th best score
    /// (of distinct demands, best first) is above the ceiling (ties go by storage order, so equal is not enough).
    public func settles(bestFirst scores: [Double], limit: Int) -> Bool {
        self == .everywhere || limit <= 0 || (scores.count >= limit && scores[limit - 1] > ceiling)
    }
}
