import GRDB
import RGISStore

/// Users, their tokens, the audit log of personal-data reads, idempotent writes, listings' private
/// fields, and `withdrawn` as a change event (migration `v4-accounts`).
enum AccountSchema {
    static func create(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE users (
                name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
                role TEXT NOT NULL CHECK (role IN ('agent', 'planner', 'regulator', 'admin')),
                agent TEXT CHECK ((role = 'agent') = (agent IS NOT NULL)),
                created_at TEXT NOT NULL
            );
            -- A token is kept only as the SHA-256 of its text: the file never holds one that works.
            CREATE TABLE tokens (
                id INTEGER PRIMARY KEY,
                user_name TEXT NOT NULL REFERENCES users(name),
                sha256 TEXT NOT NULL UNIQUE,
                created_at TEXT NOT NULL,
                expires_at TEXT,
                last_used_at TEXT,
                revoked_at TEXT
            );
            CREATE INDEX tokens_user ON tokens(user_name);
            -- Who read personal data, when, through which endpoint, about which records: never the data.
            CREATE TABLE audit_log (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL,
                user_name TEXT NOT NULL,
                role TEXT NOT NULL,
                method TEXT NOT NULL,
                endpoint TEXT NOT NULL,
                record_ids TEXT NOT NULL
            );
            CREATE INDEX audit_log_at ON audit_log(at);
            CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
                BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
            CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
                BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
            -- A POST's response kept under its Idempotency-Key, written in the POST's own transaction.
            CREATE TABLE idempotency_keys (
                user_name TEXT NOT NULL,
                key TEXT NOT NULL,
                endpoint TEXT NOT NULL,
                body_sha256 TEXT NOT NULL,
                record_id TEXT NOT NULL,
                etag TEXT NOT NULL,
                response TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (user_name, key)
            );
            -- Listing fields private by nature (RESO PrivateRemarks, ShowingContactPhone, the seller's contact).
            CREATE TABLE listing_private (
                listing_id TEXT PRIMARY KEY REFERENCES listings(id) ON DELETE CASCADE ON UPDATE CASCADE,
                private_remarks TEXT,
                showing_contact_phone TEXT,
                seller_contact TEXT
            );
            -- Private fields an earlier import kept among a listing's public properties move here.
            INSERT INTO listing_private (listing_id, private_remarks, showing_contact_phone, seller_contact)
            SELECT id, COALESCE(extra ->> '$.private_remarks', extra ->> '$.PrivateRemarks'),
                   COALESCE(extra ->> '$.showing_contact_phone', extra ->> '$.ShowingContactPhone'),
                   COALESCE(extra ->> '$.seller_contact', extra ->> '$.SellerContact')
            FROM listings
            WHERE extra IS NOT NULL AND json_valid(extra) AND COALESCE(extra ->> '$.private_remarks', extra ->> '$.PrivateRemarks',
                extra ->> '$.showing_contact_phone', extra ->> '$.ShowingContactPhone', extra ->> '$.seller_contact', extra ->> '$.SellerContact') IS NOT NULL;
            UPDATE listings SET extra = NULLIF(json_remove(extra, '$.private_remarks', '$.PrivateRemarks', '$.showing_contact_phone',
                                                           '$.ShowingContactPhone', '$.seller_contact', '$.SellerContact'), '{}')
            WHERE id IN (SELECT listing_id FROM listing_private);
            -- The key behind ETags: a version tag must not let anyone test a guess of a private value.
            CREATE TABLE store_secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL);
            INSERT INTO store_secrets VALUES ('etag', randomblob(32));

            -- `withdrawn` joins the change events: SQLite cannot change a CHECK, so the table is rebuilt.
            CREATE TABLE events_v4 (
                id INTEGER PRIMARY KEY,
                layer TEXT NOT NULL CHECK (layer IN ('listings', 'demands')),
                record_id TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('new', 'price_change', 'status_change', 'update', 'withdrawn')),
                old_value TEXT,
                new_value TEXT,
                at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
            );
            INSERT INTO events_v4 SELECT id, layer, record_id, kind, old_value, new_value, at FROM events;
            DROP TABLE events;
            ALTER TABLE events_v4 RENAME TO events;
            CREATE INDEX events_record ON events(layer, record_id);
            """)
    }
}
