import Foundation
import Testing
import RGISCore
import RGISTesting

@Suite("rgis export and rgis indicators into files")
struct ExportCommandTests {
    static let ogrinfo = which("ogrinfo") ?? "/usr/bin/ogrinfo"

    @Test("export --output writes the format its name says, GDAL reads it whole; a file format without --output is refused")
    func export() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        _ = try Templates.demoCity(in: dir, "city.sqlite")
        let db = dir.path("city.sqlite")
        for (layer, output, count) in [("parcels", "parcels.gpkg", 1536), ("listings", "listings.shp.zip", 2270), ("districts", "districts.fgb", 31)] {
            let result = try await rgis("export", db, "--layer", layer, "--output", dir.path(output))
            #expect(result.status == 0 && result.stderr.contains("\(count) features written to"), "\(result.stderr)")
            let info = try await run(Self.ogrinfo, ["-so", "-al", output.hasSuffix(".zip") ? "/vsizip/" + dir.path(output) : dir.path(output)])
            #expect(info.stdout.contains("Feature Count: \(count)"), "\(output): \(info.stdout)")
        }
        let refused = try await rgis("export", db, "--layer", "parcels", "--format", "gpkg")
        #expect(refused.status != 0 && refused.stderr.contains("output") && refused.stderr.contains("--output FILE"), "\(refused.stderr)")
        let unknown = try await rgis("export", db, "--layer", "parcels", "--output", dir.path("parcels.dat"))
        #expect(unknown.status != 0 && unknown.stderr.contains("--format"), "\(unknown.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("parcels.dat")))
    }

    @Test("indicators --output: the snapshot as a GeoPackage of districts with numeric figures, the series as an XLSX sheet")
    func indicators() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        _ = try Templates.demoCity(in: dir, "city.sqlite")
        let db = dir.path("city.sqlite")
        let snapshot = try await rgis("indicators", db, "--level", "district", "--as-of", "2026-11-23", "--output", dir.path("districts.gpkg"))
        #expect(snapshot.status == 0, "\(snapshot.stderr)")
        let json = try JSONValue.parse(Array(try await rgis("indicators", db, "--level", "district", "--as-of", "2026-11-23").stdout.utf8))
        let features = try #require(json["features"]?.arrayValue)
        let info = try await run(Self.ogrinfo, ["-al", "-q", dir.path("districts.gpkg")])
        #expect(info.stdout.components(separatedBy: "OGRFeature(districts)").count - 1 == features.count)
        #expect(info.stdout.contains("active_listings (Integer64) = \(features[0]["properties"]?["active_listings"]?.number.map { Int($0) } ?? -1)"), "\(info.stdout.prefix(600))")
        #expect(info.stdout.contains("MULTIPOLYGON"))

        let series = try await rgis("indicators", db, "--series", "--level", "district", "--from", "2025-01", "--to", "2025-12", "--output", dir.path("series.xlsx"))
        #expect(series.status == 0, "\(series.stderr)")
        let csv = try await rgis("indicators", db, "--series", "--level", "district", "--from", "2025-01", "--to", "2025-12", "--format", "csv").stdout
        let converted = try await run(which("ogr2ogr") ?? "/usr/bin/ogr2ogr", ["-f", "CSV", "/vsistdout/", dir.path("series.xlsx")])
        let sheetLines = converted.stdout.components(separatedBy: .newlines).filter { !$0.isEmpty }
        let csvLines = csv.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(sheetLines.count == csvLines.count && csvLines.count == features.count * 12 + 1, "\(sheetLines.count) against \(csvLines.count)")
        #expect(sheetLines.first == csvLines.first, "the same columns")
    }
}
