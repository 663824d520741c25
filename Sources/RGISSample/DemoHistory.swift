import RGISCore

/// The demo city's market history: dated price cuts and status changes of its listings and demands,
/// consistent with what the feature files say now (a withdrawn listing was withdrawn after it was
/// listed, a cut ends at today's price), as the change history CSV that `rgis events import` reads.
/// Drawn from its own seed, so that the features stay what they were.
extension DemoCity {
    /// The last day the history reaches.
    public static let historyEnds = ISODate(parsing: "2026-11-30")!

    public var history: String {
        var random = SplitMix64(seed: options.seed &+ 0x5EED)
        var rows: [(at: String, line: String)] = []
        let end = Self.historyEnds.dayNumber
        func day(_ n: Int) -> String { ISODate(dayNumber: n)!.text }
        func price(_ x: Double) -> String { String(Int((x / 1000).rounded() * 1000)) }

        for feature in listings {
            guard case .object(let f) = feature, case .string(let id)? = f["id"], case .object(let p)? = f["properties"],
                  case .string(let listed)? = p["list_date"], let listDay = ISODate(parsing: listed)?.dayNumber,
                  case .string(let status)? = p["status"], let current = p["list_price"]?.number else { continue }
            // The day it left the market, if it did: closed on its close date, else a day drawn after listing.
            var leftOn: Int? = nil
            if status == "closed", case .string(let closed)? = p["close_date"] { leftOn = ISODate(parsing: closed)?.dayNumber }
            if status == "withdrawn" || status == "pending" {
                let off = min(end, listDay + (status == "pending" ? random.int(10...60) : random.int(30...200)))
                leftOn = max(listDay, off)
                rows.append((day(leftOn!), "listings,\(id),status_change,active,\(status),\(day(leftOn!))"))
            }
            // Price cuts while it was on the market: one for about a third of those listed for 45 days
            // or more, a second, earlier one for some of them.
            let lastOnMarket = leftOn.map { min($0 - 1, end) } ?? end
            guard lastOnMarket - listDay >= 45, random.chance(0.35) else { continue }
            let cutDay = listDay + random.int(30...min(lastOnMarket - listDay, 150))
            let before = current * random.uniform(1.04...1.12)
            if random.chance(0.25), cutDay - listDay >= 30 {
                let firstCut = listDay + random.int(15...(cutDay - listDay - 10))
                let first = before * random.uniform(1.03...1.08)
                rows.append((day(firstCut), "listings,\(id),price_change,\(price(first)),\(price(before)),\(day(firstCut))"))
            }
            rows.append((day(cutDay), "listings,\(id),price_change,\(price(before)),\(price(current)),\(day(cutDay))"))
        }

        for feature in demands {
            guard case .object(let f) = feature, case .string(let id)? = f["id"], case .object(let p)? = f["properties"],
                  case .string(let created)? = p["created_at"], let createdDay = ISODate(parsing: created)?.dayNumber,
                  case .string(let status)? = p["status"] else { continue }
            if status != "active" {
                let on = max(createdDay, min(end, createdDay + random.int(20...240)))
                rows.append((day(on), "demands,\(id),status_change,active,\(status),\(day(on))"))
            }
            if random.chance(0.15), let budget = p["budget_max"]?.number, end - createdDay > 20 {
                let on = createdDay + random.int(10...min(end - createdDay, 200))
                rows.append((day(on), "demands,\(id),price_change,\(price(budget * random.uniform(0.85...0.95))),\(price(budget)),\(day(on))"))
            }
        }
        // Oldest first; a stable sort keeps a record's changes of one day in the order drawn.
        let ordered = rows.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element.line)
        return ChangeHistory.columns.joined(separator: ",") + "\n" + ordered.joined(separator: "\n") + "\n"
    }
}
