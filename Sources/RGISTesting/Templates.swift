import Foundation
import RGISCore
import RGISSpatiaLite
import RGISStore
import Synchronization

/// Databases that many tests start from, built once per test run and copied for each test: the demo
/// city, the registered Prague plots. A copy is a fresh file, so tests stay independent.
public enum Templates {
    private static let built = Mutex<[String: String]>([:])
    private static let directory = try! TemporaryDirectory()

    /// A copy of the template `name`, built by `build` the first time it is asked for.
    public static func copy(_ name: String, to path: String, build: (RGISDatabase) throws -> Void) throws -> RGISDatabase {
        let source = try built.withLock { cache -> String in
            if let path = cache[name] { return path }
            let path = directory.path("\(name).sqlite")
            let database = try RGISDatabase.create(at: path)
            try build(database)
            try database.checkpoint()
            cache[name] = path
            return path
        }
        try FileManager.default.copyItem(atPath: source, toPath: path)
        return try RGISDatabase.open(at: path)
    }

    /// The demo city of `geodata/`, every layer imported.
    public static func demoCity(in dir: TemporaryDirectory, _ name: String = "demo.sqlite") throws -> RGISDatabase {
        try copy("demo-city", to: dir.path(name)) { try $0.loadDemoCity() }
    }

    /// The 407 real Prague-Bubeneč plots registered as parcels valid from 2010-01-01, recorded 2010-01-02.
    public static func pragueRegister(in dir: TemporaryDirectory, _ name: String = "archive.sqlite") throws -> RGISDatabase {
        try copy("prague-register", to: dir.path(name)) { database in
            let record = ArchiveRecord(date: try ValidDate(parsing: "2010-01-01"),
                                       recordedAt: try RecordTime(parsing: "2010-01-02", field: "recorded_at", day: .startOfDay))
            _ = try ArchiveRegister(database).register(.parcels, fromFile: Fixtures.shared("prague-bubenec/plots.geojson"), idField: "ID", record: record)
        }
    }
}
