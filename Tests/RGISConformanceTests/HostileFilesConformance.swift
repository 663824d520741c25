import Foundation
import RGISBackends
import RGISCore
import RGISFiles
import RGISStore
import RGISTesting
import Testing

/// Files made to break an importer, each written at test time: every one is refused with an error
/// that says what is wrong, memory stays bounded, and the store is left as it was, on every backend.
@Suite("Conformance: hostile files")
struct HostileFilesConformance {
    static func feature(geometry: String = #"{"type":"Point","coordinates":[9.05,48.03]}"#, properties: String = "{}") -> String {
        #"{"type":"Feature","id":"x","geometry":"# + geometry + #","properties":"# + properties + "}"
    }

    static func collection(_ features: String...) -> String {
        #"{"type":"FeatureCollection","features":["# + features.joined(separator: ",") + "]}"
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let file: String
        let content: @Sendable () -> String
        let error: String
        var layer: Layer = .listings
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "nesting 100,000 levels deep", file: "deep.geojson",
             content: { collection(feature(properties: #"{"a":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}")) },
             error: "nested deeper than 512 levels"),
        Case(name: "NaN as a coordinate", file: "nan.geojson", content: { collection(feature(geometry: #"{"type":"Point","coordinates":[NaN,48]}"#)) },
             error: "unexpected character 'N'"),
        Case(name: "Infinity as a coordinate", file: "infinity.geojson", content: { collection(feature(geometry: #"{"type":"Point","coordinates":[Infinity,48]}"#)) },
             error: "unexpected character 'I'"),
        Case(name: "a coordinate of 400 digits", file: "digits.geojson",
             content: { collection(feature(geometry: #"{"type":"Point","coordinates":[1"# + String(repeating: "0", count: 400) + ",48]}")) },
             error: "is not a finite number"),
        Case(name: "a price of 400 digits", file: "price.geojson",
             content: { collection(feature(properties: #"{"list_price":9"# + String(repeating: "9", count: 400) + "}")) },
             error: "is not a finite number"),
        Case(name: "a ring of a million vertices", file: "ring.geojson", content: {
            var ring = ""
            ring.reserveCapacity(40_000_000)
            for i in 0..<1_000_000 {
                let a = Double(i) / 1_000_000 * 2 * Double.pi
                ring += "[\(9.05 + 0.01 * cos(a)),\(48.03 + 0.01 * sin(a))],"
            }
            ring += "[9.06,48.03]"
            return collection(feature(geometry: #"{"type":"Polygon","coordinates":[["# + ring + "]]}"))
        }, error: "1000001 vertices; at most 500000", layer: .parcels),
        Case(name: "a CSV quote never closed over 20 MB", file: "quote.csv",
             content: { "id,lon,lat,name\r\n1,9.05,48.03,\"" + String(repeating: "a", count: 20 << 20) + "\r\n" },
             error: "a record longer than 16 MB (a quoted field that is never closed?)"),
        Case(name: "WKT nested beyond any shape", file: "wkt.csv",
             content: { "id,wkt\r\np1,\"POLYGON" + String(repeating: "(", count: 100_000) + "\"\r\n" },
             error: "line 2: column wkt: WKT expected a number", layer: .parcels),
    ]

    @Test("refused naming the rule, nothing stored", arguments: Backends.all, cases)
    func refused(backend: Backend, _ c: Case) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let path = try dir.write(c.file, c.content())
        let store = try await backend.emptyStore(in: dir)
        let error = try await #require(throws: RGISError.self) { _ = try await store.importFeatures(from: path, options: ImportOptions(layer: c.layer), progress: nil) }
        #expect(error.description.contains(c.error), "\(error.description.prefix(400))")
        #expect(try await store.count(c.layer) == 0)
        #expect(try await store.check().isEmpty)
    }

    /// Peak memory of `rgis import` into the store at `location` from `file`, in kB (GNU time's %M), with
    /// its exit status and errors; GNU time's report is written in `dir`.
    static func importMeasured(_ location: String, _ layer: String, _ file: String, in dir: TemporaryDirectory) async throws -> (status: Int32, stderr: String, peakKB: Int) {
        let report = dir.path("time.txt")
        let result = try await run("/usr/bin/time", ["-f", "%M", "-o", report, Fixtures.rgisExecutable, "import", location, "--layer", layer, file])
        let peak = Int(try String(contentsOfFile: report, encoding: .utf8).split(separator: "\n").last.map(String.init) ?? "") ?? -1
        return (result.status, result.stderr, peak)
    }

    @Test("a 1 GB string is refused at 64 MB, in under 256 MB of memory", arguments: Backends.all)
    func hugeString(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let path = dir.path("huge.geojson")
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.write(contentsOf: Data((#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,48.03]},"properties":{"name":""#).utf8))
        let chunk = Data(repeating: UInt8(ascii: "a"), count: 1 << 20)
        for _ in 0..<1024 { try handle.write(contentsOf: chunk) }
        try handle.write(contentsOf: Data(#""}}]}"#.utf8))
        try handle.close()
        let location = try backend.location(dir, "huge")
        #expect(try await rgis("init", location).status == 0)
        let result = try await Self.importMeasured(location, "listings", path, in: dir)
        #expect(result.status != 0 && result.stderr.contains("a feature takes more than 64 MB"), "\(result.stderr)")
        #expect(result.peakKB > 0 && result.peakKB < 256 * 1024, "peak RSS \(result.peakKB) kB")
        #expect(try await StoreLocation.open(location).count(.listings) == 0)
    }

    @Test("a zip bomb posing as a zipped Shapefile is refused unread", arguments: Backends.all)
    func zipBomb(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let path = dir.path("listings.zip")
        // 300 MB of zeros deflate to about 300 kB: a thousand times their size.
        let made = try await run("/usr/bin/python3", ["-c", """
            import sys, zipfile
            with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
                with z.open("listings.shp", "w") as f:
                    block = bytes(1 << 20)
                    for _ in range(300):
                        f.write(block)
                z.writestr("listings.dbf", b"")
                z.writestr("listings.shx", b"")
            """, path])
        #expect(made.status == 0, "\(made.stderr)")
        let location = try backend.location(dir, "bomb")
        #expect(try await rgis("init", location).status == 0)
        let result = try await Self.importMeasured(location, "listings", path, in: dir)
        #expect(result.status != 0 && result.stderr.contains("expands to 314572800 bytes") && result.stderr.contains("refused unread"), "\(result.stderr)")
        #expect(result.peakKB > 0 && result.peakKB < 256 * 1024, "peak RSS \(result.peakKB) kB")
    }
}
