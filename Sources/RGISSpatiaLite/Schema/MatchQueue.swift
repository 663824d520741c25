import GRDB
import RGISStore

/// The listing events the notifier has still to match, one row each, written by a trigger in the
/// transaction that wrote the event. A worker takes the lowest ids and deletes exactly those when it
/// queues their matches, so an event is matched once however the writers' commits interleave; a
/// watermark over ids would skip an event whose transaction took its id first and committed last.
/// Events are queued only while some saved search is active: nothing hears of the others (a bulk
/// import into a register nobody subscribes to leaves no work behind).
enum MatchQueue {
    static func create(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE match_queue (event_id INTEGER PRIMARY KEY);
            INSERT INTO match_queue
                SELECT id FROM events
                WHERE id > COALESCE((SELECT value FROM notify_state WHERE name = 'matched_through_event'), 0)
                  AND layer = 'listings' AND from_history = 0
                  AND EXISTS (SELECT 1 FROM subscriptions WHERE active = 1);
            DELETE FROM notify_state WHERE name = 'matched_through_event';
            CREATE TRIGGER events_match_queue AFTER INSERT ON events
            WHEN NEW.layer = 'listings' AND NEW.from_history = 0 AND EXISTS (SELECT 1 FROM subscriptions WHERE active = 1)
            BEGIN
                INSERT INTO match_queue VALUES (NEW.id);
            END;
            """)
    }
}

/// Notifier workers and how long each is known alive. A worker renews its lease while it runs
/// (a heartbeat) and ends it when it stops; the claims of a worker whose lease has run out are free
/// to any other, on any machine, with no guess from host names or process ids.
enum WorkerLeases {
    static func create(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE notify_workers (
                worker TEXT PRIMARY KEY,
                started_at INTEGER NOT NULL,
                lease_until INTEGER NOT NULL
            );
            """)
    }
}
