import RGISCore

extension Layer {
    /// The layer's table (the same name on every backend).
    var table: String { rawValue }
}
