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

    /// Scores a fitting listing. `distanceToCentreMetres` and `areaRadiusMetres` place it in the search area.
    public init(listing: ListingFacts, demand: DemandCriteria, distanceToCentreMetres: Double, areaRadiusMetres: Double) {
        var reasons = ["inside the search area"]
        var score = 0.0
        if let type = listing.propertyType, !demand.propertyTypes.isEmpty { reasons.append("\(type) is a wanted type") }
        if let b = listing.bedrooms, let min = demand.bedroomsMin { reasons.append("\(b) bedrooms (at least \(min) wanted)") }

        if let price = listing.price, let top = demand.budgetMax {
            let low = demand.budgetMin ?? 0
            if price <= top {
                score += 40
                reasons.append(price >= low ? "price \(Self.money(price)) within budget \(Self.money(low))–\(Self.money(top))"
                                            : "price \(Self.money(price)) below budget \(Self.money(low))–\(Self.money(top))")
            } else {
                let over = (price - top) / top
                score += 40 * max(0, 1 - over / Self.stretch)
                reasons.append("price \(Self.money(price)) is \(Int((over * 100).rounded())) % over budget \(Self.money(top))")
            }
        } else {
            score += 20
            reasons.append("price or budget unknown")
        }

        if let area = listing.livingAreaM2, demand.areaMinM2 != nil || demand.areaMaxM2 != nil {
            let low = demand.areaMinM2 ?? 0, high = demand.areaMaxM2 ?? .infinity
            let range = high.isFinite ? "\(Int(low))–\(Int(high)) m²" : "at least \(Int(low)) m²"
            if area >= low && area <= high {
                score += 30
                reasons.append("living area \(Self.number(area)) m² within \(range)")
            } else {
                let off = area < low ? (low - area) / max(low, 1) : (area - high) / high
                score += 30 * max(0, 1 - off / Self.stretch)
                reasons.append("living area \(Self.number(area)) m² is \(Int((off * 100).rounded())) % outside \(range)")
            }
        } else {
            score += 15
            reasons.append("living area or wanted range unknown")
        }

        let closeness = areaRadiusMetres > 0 ? max(0, 1 - distanceToCentreMetres / areaRadiusMetres) : 1
        score += 30 * closeness
        reasons.append(String(format: "%.1f km from the search area's centre", distanceToCentreMetres / 1000))
        self.score = (score * 10).rounded() / 10
        self.reasons = reasons
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

    public static func number(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(format: "%.1f", v)
    }
}
