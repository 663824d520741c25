import RGISCore
import Foundation
import RGISStore

/// A plain-text table of features for people (`--format table`).
enum FeatureTable {
    static let preferred = ["parcel_id", "building_id", "valid_from", "valid_to", "recorded_at", "area_m2", "score", "distance_m", "name", "level", "client_id", "agent", "status", "property_type", "list_price", "living_area_m2", "bedrooms", "budget_max", "active_listings", "median_price_per_m2", "median_days_on_market", "long_unsold_share", "active_demands", "median_budget", "demand_supply_ratio"]

    static func render(_ page: FeaturePage) -> String {
        let keys = preferred.filter { key in page.features.contains { $0.properties[key] != nil } }
        var rows = [["id"] + keys]
        for f in page.features {
            rows.append([f.id] + keys.map { key in
                guard let v = f.properties[key] else { return "" }
                if case .string(let s) = v { return s }
                return v.jsonText
            })
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        var out = ""
        for row in rows {
            out += row.enumerated().map { c, cell in cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
        }
        out += "\(page.features.count) features" + (page.next.map { ", more with --cursor \($0.token)" } ?? "") + "\n"
        return out
    }
}
