import Foundation
import RGISCore

extension PostGISSchema {
    /// The bitemporal archive: versions of parcels and buildings, rights, parties, events and lineage,
    /// as the SpatiaLite file keeps them (the dates and times as ISO 8601 text, compared as text). Each
    /// version and right also holds its two times as ranges, `valid` (a `daterange`, days) and `recorded`
    /// (a `tstzrange`), set by a trigger, with a GiST index on both (and on the footprint), so an as-of
    /// read is an overlap and containment lookup; the text comparisons then decide. History is only
    /// appended to: a row may be marked superseded once; anything else is refused (SQLSTATE RG003).
    static let archive: String = {
        let times = "valid daterange NOT NULL, recorded tstzrange NOT NULL"
        var statements = [
            """
            CREATE TABLE archive_events (
                id bigserial PRIMARY KEY,
                kind text NOT NULL CHECK (kind IN ('registration', 'transfer', 'split', 'merge', 'new_building', 'demolition', 'correction')),
                valid_date text NOT NULL, recorded_at text NOT NULL, document text,
                corrects bigint REFERENCES archive_events (id), detail text)
            """,
            "CREATE INDEX archive_events_recorded ON archive_events (recorded_at)",
            """
            CREATE TABLE archive_parties (id text PRIMARY KEY,
                kind text NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'organisation')), name text)
            """,
            """
            CREATE TABLE archive_rights (
                id bigserial PRIMARY KEY, parcel_id text NOT NULL, party_id text NOT NULL REFERENCES archive_parties (id),
                right_type text NOT NULL CHECK (right_type IN ('ownership', 'lease', 'mortgage', 'easement')),
                share_num bigint NOT NULL CHECK (share_num > 0), share_den bigint NOT NULL CHECK (share_den > 0 AND share_num <= share_den),
                valid_from text NOT NULL, valid_to text CHECK (valid_to IS NULL OR valid_to > valid_from),
                recorded_at text NOT NULL, superseded_at text CHECK (superseded_at IS NULL OR superseded_at >= recorded_at),
                event_id bigint NOT NULL REFERENCES archive_events (id), ended_by bigint REFERENCES archive_events (id),
                superseded_by bigint REFERENCES archive_events (id), \(times))
            """,
            "CREATE INDEX archive_rights_parcel ON archive_rights (parcel_id, right_type)",
            "CREATE INDEX archive_rights_event ON archive_rights (event_id)",
            "CREATE INDEX archive_rights_time ON archive_rights USING gist (valid, recorded)",
            """
            CREATE TABLE archive_lineage (event_id bigint NOT NULL REFERENCES archive_events (id), from_parcel text NOT NULL,
                to_parcel text NOT NULL, PRIMARY KEY (from_parcel, to_parcel))
            """,
            "CREATE INDEX archive_lineage_to ON archive_lineage (to_parcel)",
            // The two times as ranges, from the text columns (a cast that depends on settings cannot be a generated column).
            """
            CREATE FUNCTION rgis_archive_times() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
              NEW.valid := daterange(NEW.valid_from::date, NEW.valid_to::date, '[)');
              NEW.recorded := tstzrange(NEW.recorded_at::timestamptz, NEW.superseded_at::timestamptz, '[)');
              RETURN NEW;
            END $$
            """,
            """
            CREATE FUNCTION rgis_archive_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
              IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'archive rows are never deleted; record a correction instead' USING ERRCODE = 'RG003';
              END IF;
              IF OLD.superseded_at IS NOT NULL OR (to_jsonb(OLD) - 'superseded_at' - 'superseded_by' - 'recorded')
                 IS DISTINCT FROM (to_jsonb(NEW) - 'superseded_at' - 'superseded_by' - 'recorded') THEN
                RAISE EXCEPTION 'archive rows are never rewritten; record a correction instead' USING ERRCODE = 'RG003';
              END IF;
              RETURN NEW;
            END $$
            """,
        ]
        for (table, idColumn) in [("archive_parcels", "parcel_id"), ("archive_buildings", "building_id")] {
            let parcelColumn = idColumn == "building_id" ? "parcel_id text," : ""
            statements += [
                """
                CREATE TABLE \(table) (
                    fid bigserial PRIMARY KEY, \(idColumn) text NOT NULL, \(parcelColumn)
                    valid_from text NOT NULL, valid_to text CHECK (valid_to IS NULL OR valid_to > valid_from),
                    recorded_at text NOT NULL, superseded_at text CHECK (superseded_at IS NULL OR superseded_at >= recorded_at),
                    event_id bigint NOT NULL REFERENCES archive_events (id), ended_by bigint REFERENCES archive_events (id),
                    superseded_by bigint REFERENCES archive_events (id),
                    area_m2 double precision NOT NULL CHECK (area_m2 > 0), properties text,
                    geom geometry(MultiPolygon, 4326) NOT NULL, \(times))
                """,
                "CREATE INDEX \(table)_id ON \(table) (\(idColumn), valid_from)",
                "CREATE INDEX \(table)_event ON \(table) (event_id)",
                "CREATE INDEX \(table)_geom ON \(table) USING gist (geom)",
                "CREATE INDEX \(table)_time ON \(table) USING gist (valid, recorded)",
            ]
        }
        for table in ["archive_parcels", "archive_buildings", "archive_rights"] {
            statements.append("CREATE TRIGGER \(table)_times BEFORE INSERT OR UPDATE ON \(table) FOR EACH ROW EXECUTE FUNCTION rgis_archive_times()")
            statements.append("CREATE TRIGGER \(table)_append_only BEFORE UPDATE OR DELETE ON \(table) FOR EACH ROW EXECUTE FUNCTION rgis_archive_append_only()")
            statements.append("CREATE TRIGGER \(table)_no_truncate BEFORE TRUNCATE ON \(table) FOR EACH STATEMENT EXECUTE FUNCTION rgis_append_only()")
        }
        return statements.map { $0.replacingOccurrences(of: "\n", with: " ") }.joined(separator: ";\n")
    }()
}
