import Foundation
import RGISCore
import RGISStore

/// A file that appears complete or not at all: written under a hidden name beside it, then renamed
/// over it (rename(2) replaces what was there in one step); removed when writing fails.
public enum AtomicFile {
    /// Calls `write` with the path to write, ending in `.ending` (GDAL picks a format's variant by
    /// it), then puts that file at `path`. One of `store`'s own files is refused: renamed over, the
    /// store would go on writing into a file nobody else reads.
    public static func write<T>(to path: String, ending: String, sparing store: (any StoreMaintenance)? = nil,
                                _ write: (String) throws -> T) throws -> T {
        let (partial, target) = try partialPath(for: path, ending: ending, sparing: store)
        do {
            return try finish(try write(partial), partial: partial, target: target)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    /// ``write(to:ending:_:)`` for writers that read a store as they go.
    public static func write<T>(to path: String, ending: String, sparing store: (any StoreMaintenance)? = nil,
                                _ write: (String) async throws -> T) async throws -> T {
        let (partial, target) = try partialPath(for: path, ending: ending, sparing: store)
        do {
            return try finish(try await write(partial), partial: partial, target: target)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    /// The hidden name beside `path` to write first, after checking `path` may be written.
    private static func partialPath(for path: String, ending: String, sparing store: (any StoreMaintenance)?) throws -> (partial: String, target: URL) {
        let target = URL(fileURLWithPath: path)
        let directory = target.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RGISError(.io, "no directory \(directory.path) to write \(target.lastPathComponent) in", at: "output")
        }
        try store?.refuseOwnFile(path, as: "write to")
        // No other dot in the name: GDAL's zip-based writers (XLSX) cut a path at its first ".xlsx".
        let stem = target.lastPathComponent.replacingOccurrences(of: ".", with: "_")
        let partial = directory.appendingPathComponent("partial-\(ProcessInfo.processInfo.processIdentifier)-\(stem).\(ending)").path
        try? FileManager.default.removeItem(atPath: partial)
        return (partial, target)
    }

    private static func finish<T>(_ result: T, partial: String, target: URL) throws -> T {
        guard rename(partial, target.path) == 0 else {
            throw RGISError(.io, "cannot put \(target.lastPathComponent) in place: \(String(cString: strerror(errno)))", at: "output")
        }
        return result
    }

    /// `bytes` put at `path` complete or not at all.
    public static func write(_ bytes: [UInt8], to path: String, sparing store: (any StoreMaintenance)? = nil) throws {
        try write(to: path, ending: "part", sparing: store) { partial in
            guard FileManager.default.createFile(atPath: partial, contents: Data(bytes)) else {
                throw RGISError(.io, "cannot write \(path)", at: "output")
            }
        }
    }
}
