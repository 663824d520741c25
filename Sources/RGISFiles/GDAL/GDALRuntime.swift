import CGDAL

/// GDAL as this process uses it: drivers registered once, messages kept for errors instead of printed.
enum GDALRuntime {
    /// Registers GDAL's drivers, once per process; its messages go to ``lastError`` instead of stderr.
    static let ready: Void = {
        GDALAllRegister()
        CPLSetErrorHandler(CPLQuietErrorHandler)
        // A sheet imported is a table: its first row names the columns, whatever their cells hold.
        CPLSetConfigOption("OGR_XLSX_HEADERS", "FORCE")
        CPLSetConfigOption("OGR_ODS_HEADERS", "FORCE")
    }()

    /// GDAL's last error message, if any.
    static var lastError: String? {
        guard let message = CPLGetLastErrorMsg(), message.pointee != 0 else { return nil }
        return String(cString: message)
    }

    /// ": message" when GDAL said why, for the end of an error text.
    static var because: String { lastError.map { ": \($0)" } ?? "" }

    /// GDAL's options list (`NAME=VALUE` strings) for a call, freed after `body`.
    static func withOptions<T>(_ options: [String], _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) throws -> T) rethrows -> T {
        var list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
        for option in options { list = CSLAddString(list, option) }
        defer { CSLDestroy(list) }
        return try body(list)
    }
}
