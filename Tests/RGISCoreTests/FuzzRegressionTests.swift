import Foundation
import Testing
import RGISCore
import RGISTesting

/// Every input kept in `Tests/Fuzz/<target>/` (hostile seeds, and whatever `tools/fuzz` found to crash
/// or hang) replayed through the same parser paths as the fuzzer, by `rgis-fuzz` built plainly.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    static let replay = URL(fileURLWithPath: Fixtures.rgisExecutable).deletingLastPathComponent().appendingPathComponent("rgis-fuzz").path

    @Test("each kept input goes through its parser and out again without a crash", arguments: ["geojson", "csv", "wkt", "json", "requests"])
    func replayed(_ target: String) async throws {
        let directory = Fixtures.packageRoot.appendingPathComponent("Tests/Fuzz/\(target)")
        let inputs = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted().map { directory.appendingPathComponent($0).path }
        #expect(!inputs.isEmpty, "Tests/Fuzz/\(target) holds inputs")
        for input in inputs {
            let result = try await run(Self.replay, [target, input])
            #expect(result.status == 0, "\(URL(fileURLWithPath: input).lastPathComponent): exit \(result.status) \(result.stderr.prefix(300))")
        }
    }

    @Test("the replay refuses an unknown target and an unreadable file, so a pass means the inputs ran")
    func replayChecksItsArguments() async throws {
        #expect(try await run(Self.replay, ["nope"]).status == 64)
        #expect(try await run(Self.replay, ["wkt", "/nonexistent/input.wkt"]).status == 66)
    }
}
