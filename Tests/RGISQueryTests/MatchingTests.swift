import Foundation
import RGISCore
import RGISTesting
import Testing

/// The options of an indicators request, read before any store is asked. Matching both ways and the
/// indicators themselves are stated on every backend in the conformance suite (`MatchingConformance`).
@Suite("Indicator options")
struct MatchingTests {
    @Test("indicator options: an unknown level, and a period that ends before it starts, are refused naming the parameter")
    func indicatorOptions() throws {
        expectError(.invalidValue, at: "parameter level") { _ = try IndicatorOptions.level(parsing: "county") }
        let backwards = #expect(throws: RGISError.self) {
            try IndicatorOptions(asOf: ISODate(parsing: "2026-01-01")!, periodStart: ISODate(parsing: "2026-02-01")!)
        }
        #expect(backwards?.code == .invalidValue && backwards?.location == "parameter since")
    }
}
