import GRDB
import RGISStore

/// A counter that every write of a listing, demand, district or client moves (triggers), so that figures
/// computed from them can be kept until it moves: the indicators and series of a planner's map are
/// computed once per change of the market, not once per page load.
enum MarketVersion {
    /// Clients too: demand by segment reads their segment fields.
    static let tables = ["listings", "demands", "districts", "clients"]

    static func create(_ db: Database) throws {
        try db.execute(sql: "CREATE TABLE market_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL); INSERT INTO market_version VALUES (1, 0);")
        for table in tables {
            for (name, event) in triggerEvents {
                try db.execute(sql: """
                    CREATE TRIGGER \(trigger(table, name)) AFTER \(event) ON \(table) BEGIN
                        UPDATE market_version SET version = version + 1 WHERE id = 1;
                    END
                    """)
            }
        }
    }

    static let triggerEvents = [("insert", "INSERT"), ("update", "UPDATE"), ("delete", "DELETE")]

    static func trigger(_ table: String, _ event: String) -> String { "\(table)_market_version_\(event)" }

    /// Moves the counter once (a bulk write that dropped the triggers).
    static func bump(_ db: Database) throws {
        try db.execute(sql: "UPDATE market_version SET version = version + 1 WHERE id = 1")
    }

    static func read(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT version FROM market_version WHERE id = 1") ?? 0
    }
}
