import RGISCore

/// What the monthly series of a level's districts are computed from: each placed listing's and
/// demand's dates and current values, with its dated price (or budget) and status changes from the
/// change events, oldest first.
public struct MarketHistory: Sendable {
    /// A change on a day (`YYYY-MM-DD`, the event's date), with the values as the events hold them.
    public struct Change: Sendable, Equatable {
        public var day: String
        public var old: String?
        public var new: String?
        public init(day: String, old: String?, new: String?) { self.day = day; self.old = old; self.new = new }
    }

    public struct Listing: Sendable {
        public var district: Int64
        public var listDate: String?
        public var closeDate: String?
        public var closePrice: Double?
        public var status: String
        public var listPrice: Double?
        public var livingAreaM2: Double?
        public var priceChanges: [Change] = []
        public var statusChanges: [Change] = []

        package init(district: Int64, listDate: String? = nil, closeDate: String? = nil, closePrice: Double? = nil, status: String, listPrice: Double? = nil, livingAreaM2: Double? = nil, priceChanges: [Change] = [], statusChanges: [Change] = []) {
            self.district = district
            self.listDate = listDate
            self.closeDate = closeDate
            self.closePrice = closePrice
            self.status = status
            self.listPrice = listPrice
            self.livingAreaM2 = livingAreaM2
            self.priceChanges = priceChanges
            self.statusChanges = statusChanges
        }
    }

    public struct Demand: Sendable {
        public var district: Int64
        public var createdAt: String?
        public var status: String
        public var budgetMax: Double?
        public var budgetChanges: [Change] = []
        public var statusChanges: [Change] = []

        package init(district: Int64, createdAt: String? = nil, status: String, budgetMax: Double? = nil, budgetChanges: [Change] = [], statusChanges: [Change] = []) {
            self.district = district
            self.createdAt = createdAt
            self.status = status
            self.budgetMax = budgetMax
            self.budgetChanges = budgetChanges
            self.statusChanges = statusChanges
        }
    }

    public struct District: Sendable {
        public var fid: Int64
        public var id: String
        public var name: String?
        /// The district's series stamp in the snapshot the rows were read in (``KeptSeries``).
        public var stamp: Int64 = 0

        package init(fid: Int64, id: String, name: String?, stamp: Int64 = 0) {
            self.fid = fid
            self.id = id
            self.name = name
            self.stamp = stamp
        }
    }

    /// In storage order.
    public var districts: [District]
    public var listings: [Listing]
    public var demands: [Demand]

    package init(districts: [District], listings: [Listing], demands: [Demand]) {
        self.districts = districts
        self.listings = listings
        self.demands = demands
    }
}

/// The monthly series kept for a level's districts between requests. A district's stamp moves with
/// every write that changes what its series read (its listings and demands, their change events,
/// the district itself); figures kept under an older stamp are not returned.
public struct KeptSeries: Sendable {
    public struct District: Sendable {
        public var fid: Int64
        public var id: String
        public var name: String?
        /// The figures as kept (the query module's encoding), when kept at the current stamp.
        public var figures: String?

        package init(fid: Int64, id: String, name: String?, figures: String?) {
            self.fid = fid
            self.id = id
            self.name = name
            self.figures = figures
        }
    }

    /// Figures computed from a district's history, under the stamp it was read at.
    public struct Entry: Sendable {
        public var district: Int64
        public var stamp: Int64
        public var figures: String
        public init(district: Int64, stamp: Int64, figures: String) { self.district = district; self.stamp = stamp; self.figures = figures }
    }

    /// In storage order.
    public var districts: [District]

    package init(districts: [District]) {
        self.districts = districts
    }
}
