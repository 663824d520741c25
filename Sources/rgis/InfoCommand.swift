import ArgumentParser
import Foundation
import RGISBackends
import RGISStore

struct InfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "List the layers of a database with their counts, extents and SRID."
    )

    @OptionGroup var target: DatabaseArgument

    func run() async throws {
        try await reportingErrors {
            let info = try await StoreLocation.open(target.database).info()
            var text = "\(info.path): schema \(info.schemaVersion), \(info.fileBytes / 1024) KiB\n"
            text += "layer".padding(toLength: 11, withPad: " ", startingAt: 0)
                + "count".leftPadded(9) + "  type          srid  extent (minx, miny, maxx, maxy)\n"
            for layer in info.layers {
                let extent = layer.extent.map {
                    String(format: "%.6f, %.6f, %.6f, %.6f", $0.west, $0.south, $0.east, $0.north)
                } ?? "empty"
                text += layer.layer.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)
                    + String(layer.count).leftPadded(9) + "  "
                    + layer.geometryType.padding(toLength: 12, withPad: " ", startingAt: 0)
                    + String(layer.srid.code).leftPadded(6) + "  " + extent
                    + (layer.spatialIndex ? "" : "  (no spatial index)") + "\n"
            }
            text += "clients".padding(toLength: 11, withPad: " ", startingAt: 0) + String(info.clients).leftPadded(9) + "\n"
            text += "events".padding(toLength: 11, withPad: " ", startingAt: 0) + String(info.events).leftPadded(9) + "\n"
            Console.out(text)
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
