import RGISCore
import RGISStore

/// Where SpatiaLite keeps a layer: one table each, named as the layer, its fields as columns.
extension Layer {
    /// The table that holds the layer.
    package var table: String { rawValue }
}

extension Field {
    /// The SQLite column type.
    package var sqlType: String {
        switch kind {
        case .integer: "INTEGER"
        case .real: "REAL"
        case .text, .date, .oneOf, .listOf: "TEXT"
        }
    }
}
