// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "RGIS",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "rgis", targets: ["rgis"]),
        .library(name: "RGISCore", targets: ["RGISCore"]),
        .library(name: "RGISStore", targets: ["RGISStore"]),
        .library(name: "RGISSpatiaLite", targets: ["RGISSpatiaLite"]),
        .library(name: "RGISQuery", targets: ["RGISQuery"]),
        .library(name: "RGISServer", targets: ["RGISServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // /metrics: Hummingbird's MetricsMiddleware records through swift-metrics; Prometheus writes the text format.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // SHA-256 for stored tokens, HMAC for ETags (already built for the HTTP test client).
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        // Notifications: the webhook and SMTP clients are written on SwiftNIO (already under Hummingbird),
        // TLS by NIOSSL (https webhooks, SMTP STARTTLS); the notifier is a ServiceLifecycle service in `rgis serve`.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // NIOHTTPTypes: the request parts a read-deadline handler in the server's pipeline sees (already
        // built for Hummingbird; named so that RGISServer may import it).
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        // The PostgreSQL/PostGIS backend: the wire protocol, a connection pool, COPY FROM STDIN and
        // typed rows (the protocol is a whole client library; nothing here to write by hand).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // spatialite.h through pkg-config; links the same system libsqlite3 that GRDBSQLite links.
        .systemLibrary(
            name: "CSpatiaLite",
            pkgConfig: "spatialite",
            providers: [.apt(["libspatialite-dev", "libsqlite3-dev"])]
        ),
        // GDAL's vector C API (OGR): the files that are neither GeoJSON nor CSV (Shapefile, GeoPackage, FlatGeobuf, KML…).
        .systemLibrary(
            name: "CGDAL",
            pkgConfig: "gdal",
            providers: [.apt(["libgdal-dev"])]
        ),
        // PROJ's geodesic routines (Karney), for distances computed outside SQL.
        .systemLibrary(
            name: "CPROJ",
            pkgConfig: "proj",
            providers: [.apt(["libproj-dev"])]
        ),
        // GEOS's C API, the engine behind SpatiaLite's ST_Contains: a bulk import places each listing in
        // the districts with polygons GEOS prepared once (SQL would read every polygon per test).
        .systemLibrary(
            name: "CGEOS",
            pkgConfig: "geos",
            providers: [.apt(["libgeos-dev"])]
        ),
        // Domain values, GeoJSON, CSV and validation: no I/O, no SQL.
        .target(name: "RGISCore"),
        // Storage as the upper modules know it: the store protocols with their contracts, the values
        // they trade in and the rules above them. Names no backend; no SQL.
        .target(
            name: "RGISStore",
            dependencies: ["RGISCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Geodesic metres and CRS transforms through PROJ, for the query engine and the backends alike.
        .target(name: "RGISGeodesy", dependencies: ["RGISCore", "CPROJ"]),
        // Files of features in and out: GeoJSON and CSV readers, anything GDAL reads or writes, XLSX,
        // files put in place whole. Readers hand a store a stream of validated records.
        .target(name: "RGISFiles", dependencies: ["RGISCore", "RGISStore", "CGDAL"]),
        // The SpatiaLite backend: one file, its schema and migrations, every store protocol in SQL.
        .target(
            name: "RGISSpatiaLite",
            dependencies: [
                "RGISCore",
                "RGISStore",
                "RGISFiles",
                "RGISGeodesy",
                "CSpatiaLite",
                "CPROJ",
                "CGEOS",
                "CGDAL",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The PostgreSQL/PostGIS backend: its own schema and migrations, every search in PostGIS SQL
        // (geography for metres, GiST), bulk import by COPY, on postgres-nio's pooled client.
        .target(
            name: "RGISPostGIS",
            dependencies: [
                "RGISCore", "RGISStore", "RGISGeodesy", "RGISFiles",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The one place that turns a location into a store: the list of backends.
        .target(name: "RGISBackends", dependencies: ["RGISStore", "RGISSpatiaLite", "RGISPostGIS"]),
        // Radius, polygon, nearest and district queries, shared by the CLI and the server.
        .target(
            name: "RGISQuery",
            dependencies: ["RGISCore", "RGISStore", "RGISGeodesy"]
        ),
        // Saved searches → outbox → Standard Webhooks and SMTP, with retries, digests and quiet hours.
        .target(
            name: "RGISNotify",
            dependencies: [
                "RGISCore", "RGISStore", "RGISQuery",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // HTTP: OGC API – Features, the domain API and the map page, over RGISQuery.
        .target(
            name: "RGISServer",
            dependencies: [
                "RGISCore", "RGISStore", "RGISFiles", "RGISQuery", "RGISNotify",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            // The pages' scripts and styles are files of their own: no page runs inline script (CSP).
            resources: [.copy("Resources/map.html"), .copy("Resources/map.js"), .copy("Resources/map.css"),
                        .copy("Resources/pages.css"), .copy("Resources/items-map.js")]
        ),
        // The deterministic demo city behind `rgis sample` and geodata/.
        .target(name: "RGISSample", dependencies: ["RGISCore"]),
        .executableTarget(
            name: "rgis",
            dependencies: [
                "RGISCore",
                "RGISStore",
                "RGISFiles",
                "RGISBackends",
                "RGISQuery",
                "RGISServer",
                "RGISNotify",
                "RGISSample",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // In-process query timings against raw SpatiaLite SQL (tools/bench).
        .executableTarget(
            name: "rgis-bench",
            dependencies: ["RGISCore", "RGISStore", "RGISSpatiaLite", "RGISBackends", "RGISQuery", "RGISNotify", "RGISSample", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Sources/RGISBench"
        ),
        // The parsers of untrusted files under libFuzzer (tools/fuzz builds it with -sanitize=fuzzer);
        // built plainly it replays saved inputs (the regression tests).
        .executableTarget(name: "rgis-fuzz", dependencies: ["RGISCore"], path: "Sources/RGISFuzz"),
        // Fixtures and helpers shared by the test targets.
        .target(
            name: "RGISTesting",
            dependencies: ["RGISCore", "RGISStore", "RGISFiles", "RGISSpatiaLite", "RGISBackends", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Sources/RGISTesting"
        ),
        .testTarget(name: "RGISCoreTests", dependencies: ["RGISCore", "RGISTesting"]),
        .testTarget(name: "RGISStoreTests", dependencies: [
            "RGISStore", "RGISSpatiaLite", "RGISPostGIS", "RGISFiles", "RGISBackends", "RGISSample", "RGISTesting", .product(name: "GRDB", package: "GRDB.swift"),
        ], exclude: ["Golden"]),
        .testTarget(name: "RGISQueryTests", dependencies: [
            "RGISQuery", "RGISStore", "RGISGeodesy", "RGISSpatiaLite", "RGISFiles", "RGISBackends", "RGISTesting", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "RGISNotifyTests", dependencies: [
            "RGISNotify", "RGISStore", "RGISSpatiaLite", "RGISFiles", "RGISBackends", "RGISQuery", "RGISTesting", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "RGISServerTests", dependencies: [
            "RGISServer", "RGISStore", "RGISSpatiaLite", "RGISFiles", "RGISBackends", "RGISNotify", "RGISTesting", .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ], exclude: ["Golden"]),
        // The behaviour every store backend must have, written once against StoreLocation and run on
        // each backend in its list (Tests/RGISConformanceTests/Backends.swift), with the query engine
        // where a test is about a query over the store. No GRDB here.
        .testTarget(name: "RGISConformanceTests", dependencies: [
            "rgis", "RGISStore", "RGISGeodesy", "RGISFiles", "RGISBackends", "RGISQuery", "RGISServer", "RGISTesting",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        .testTarget(name: "RGISCLITests", dependencies: [
            "rgis", "RGISStore", "RGISSpatiaLite", "RGISFiles", "RGISBackends", "RGISSample", "RGISTesting", .product(name: "GRDB", package: "GRDB.swift"),
        ], exclude: ["Golden"]),
    ]
)
