import GRDB
import RGISCore
import RGISStore

/// `layer_statistics`: each layer's feature count and extent, kept by triggers as rows change, so that
/// `/collections`, `/health` and unfiltered `numberMatched` never count or scan a table.
///
/// The extent grows with inserts and moves; a deletion leaves it as it was (it still encloses every
/// feature, as OGC asks of an extent, if not always tightly) until the layer is empty.
enum LayerStatisticsTable {
    static func create(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE layer_statistics (
                layer TEXT PRIMARY KEY,
                feature_count INTEGER NOT NULL,
                min_x REAL, min_y REAL, max_x REAL, max_y REAL
            )
            """)
        // The extent grows to hold a new or moved geometry (a NULL one leaves it as it is).
        let growExtent = """
            min_x = min(coalesce(min_x, MbrMinX(NEW.geom)), coalesce(MbrMinX(NEW.geom), min_x)),
            min_y = min(coalesce(min_y, MbrMinY(NEW.geom)), coalesce(MbrMinY(NEW.geom), min_y)),
            max_x = max(coalesce(max_x, MbrMaxX(NEW.geom)), coalesce(MbrMaxX(NEW.geom), max_x)),
            max_y = max(coalesce(max_y, MbrMaxY(NEW.geom)), coalesce(MbrMaxY(NEW.geom), max_y))
            """
        for table in ["listings", "parcels", "buildings", "districts", "demands"] {
            // An upgraded file is measured once, on the geometries themselves (as the triggers do after).
            try db.execute(sql: """
                INSERT INTO layer_statistics (layer, feature_count, min_x, min_y, max_x, max_y)
                SELECT '\(table)', count(*), min(MbrMinX(geom)), min(MbrMinY(geom)), max(MbrMaxX(geom)), max(MbrMaxY(geom)) FROM \(table);
                CREATE TRIGGER \(table)_statistics_insert AFTER INSERT ON \(table) BEGIN
                    UPDATE layer_statistics SET feature_count = feature_count + 1, \(growExtent)
                    WHERE layer = '\(table)';
                END;
                CREATE TRIGGER \(table)_statistics_move AFTER UPDATE OF geom ON \(table) BEGIN
                    UPDATE layer_statistics SET \(growExtent)
                    WHERE layer = '\(table)';
                END;
                CREATE TRIGGER \(table)_statistics_delete AFTER DELETE ON \(table) BEGIN
                    UPDATE layer_statistics SET feature_count = feature_count - 1,
                        min_x = CASE WHEN feature_count > 1 THEN min_x END, min_y = CASE WHEN feature_count > 1 THEN min_y END,
                        max_x = CASE WHEN feature_count > 1 THEN max_x END, max_y = CASE WHEN feature_count > 1 THEN max_y END
                    WHERE layer = '\(table)';
                END;
                """)
        }
    }

    static func read(_ db: Database) throws -> [LayerStatistics] {
        let rows = try db.rows("SELECT layer, feature_count, min_x, min_y, max_x, max_y FROM layer_statistics")
        var byLayer: [Layer: LayerStatistics] = [:]
        for row in rows {
            guard let layer = Layer(rawValue: row["layer"]) else { continue }
            var extent: BBox?
            if let w = row["min_x"] as Double?, let s = row["min_y"] as Double?, let e = row["max_x"] as Double?, let n = row["max_y"] as Double? {
                extent = try? BBox(west: w, south: s, east: e, north: n)
            }
            byLayer[layer] = LayerStatistics(layer: layer, count: row["feature_count"], extent: extent)
        }
        return Layer.allCases.map { byLayer[$0] ?? LayerStatistics(layer: $0, count: 0, extent: nil) }
    }

    static func count(_ db: Database, _ layer: Layer) throws -> Int {
        try db.value("SELECT feature_count FROM layer_statistics WHERE layer = \(layer.rawValue)", as: Int.self) ?? 0
    }
}
