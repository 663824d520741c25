import Foundation
import GRDB
@testable import RGISSpatiaLite
@testable import RGISStore
import RGISTesting
import Testing

@Suite("Migration v17-one-outbox")
struct OneOutboxMigrationTests {
    @Test("a file with both outboxes keeps every message, its state, attempts and claim in the one outbox, notifications under their ids, and its keys still refuse a replay")
    func upgrade() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        var configuration = Configuration()
        configuration.prepareDatabase { db in try SpatiaLiteConnection.load(into: db) }
        let pool = try DatabasePool(path: dir.path("v16.sqlite"), configuration: configuration)
        try Schema.migrate(pool, upTo: "v16-worker-leases")
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO demands (id, geom) VALUES ('R1', CastToMultiPolygon(BuildMbr(9.0, 48.0, 9.1, 48.1, 4326)));
                INSERT INTO webhook_endpoints (agent, url, secret, created_at) VALUES ('agent-01', 'http://crm.test/hooks', 's', '2026-01-01T00:00:00Z');
                INSERT INTO subscriptions (id, demand_id, channel, endpoint_id, created_at) VALUES (7, 'R1', 'webhook', 1, '2026-01-01T00:00:00Z');
                INSERT INTO outbox (id, event_id, subscription_id, demand_id, listing_id, reason, score, price, message_id, state, queued_at, due_at, attempts, sent_at)
                    VALUES (3, 11, 7, 'R1', 'L1', 'new', 0.9, 200000, 'msg_11_7', 'sent', 100, 100, 1, 101),
                           (4, 12, 7, 'R1', 'L2', 'price_change', 0.8, 190000, 'msg_12_7', 'pending', 102, 160, 2, NULL);
                UPDATE outbox SET claimed_by = 'host:1:a', claimed_until = 500, last_error = 'HTTP 500' WHERE id = 4;
                INSERT INTO alert_hooks (owner, url, secret, created_at) VALUES ('planner', 'http://planner.test/alerts', 's', 90);
                INSERT INTO alert_outbox (hook_id, type, message_id, body, state, queued_at, due_at, attempts)
                    VALUES (1, 'district.alert.raised', 'msg_abc', '{"type":"district.alert.raised"}', 'pending', 103, 103, 0);
                """)
        }
        try Schema.migrate(pool)
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, kind, message_id, state, attempts, claimed_by, last_error, subscription_id, listing_id, hook_id, type, body FROM deliveries ORDER BY id
                """)
            #expect(rows.map { $0["kind"] as String } == ["search", "search", "alert"])
            #expect(rows.map { $0["message_id"] as String } == ["msg_11_7", "msg_12_7", "msg_abc"])
            #expect(rows[0]["id"] as Int64 == 3 && rows[1]["id"] as Int64 == 4, "notifications keep their ids")
            #expect(rows[0]["state"] as String == "sent" && rows[1]["state"] as String == "pending" && rows[1]["attempts"] as Int == 2)
            #expect(rows[1]["claimed_by"] as String? == "host:1:a" && rows[1]["last_error"] as String? == "HTTP 500")
            #expect(rows[2]["hook_id"] as Int64? == 1 && rows[2]["type"] as String? == "district.alert.raised" && rows[2]["subscription_id"] as Int64? == nil)
            #expect(try Bool.fetchOne(db, sql: "SELECT count(*) = 0 FROM sqlite_master WHERE name IN ('outbox', 'alert_outbox')") == true)
        }
        // The keys hold: the same notification or alert message is not queued twice; a row of no kind is refused.
        try pool.write { db in
            try db.execute(sql: """
                INSERT OR IGNORE INTO deliveries (kind, event_id, subscription_id, demand_id, listing_id, reason, message_id, queued_at, due_at)
                VALUES ('search', 11, 7, 'R1', 'L1', 'new', 'msg_11_7', 200, 200)
                """)
            #expect(db.changesCount == 0)
            #expect(throws: DatabaseError.self) {
                try db.execute(sql: "INSERT INTO deliveries (kind, message_id, queued_at, due_at) VALUES ('alert', 'msg_x', 1, 1)")
            }
        }
    }
}
