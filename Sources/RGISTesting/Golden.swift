import Foundation
import RGISCore

/// Golden files: wire formats are API. `Golden.mismatch(actual, "Tests/…/name")` compares with the
/// committed file (as canonical JSON when the name ends in `.json`: keys sorted, indented, with the
/// members that change on every call masked) and returns a description of the difference, or nil.
/// With `RECORD_GOLDEN=1` it writes the file instead.
public enum Golden {
    /// Members whose values differ on every call: a response's time stamp, a problem's request id.
    public static let volatileMembers: Set<String> = ["timeStamp", "instance"]

    public static var recording: Bool { ProcessInfo.processInfo.environment["RECORD_GOLDEN"] == "1" }

    public static func mismatch(_ actual: String, _ relativePath: String) throws -> String? {
        let url = Fixtures.packageRoot.appendingPathComponent(relativePath)
        let text = relativePath.hasSuffix(".json") ? try canonicalJSON(actual) : actual
        if recording {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return nil
        }
        guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
            return "no golden file \(relativePath) (record it with RECORD_GOLDEN=1)"
        }
        guard expected != text else { return nil }
        let a = expected.split(separator: "\n", omittingEmptySubsequences: false), b = text.split(separator: "\n", omittingEmptySubsequences: false)
        let line = Array(zip(a, b)).firstIndex { $0.0 != $0.1 } ?? min(a.count, b.count)
        let want = line < a.count ? String(a[line]) : "<end>", got = line < b.count ? String(b[line]) : "<end>"
        return "\(relativePath) differs at line \(line + 1): expected «\(want)», got «\(got)» (RECORD_GOLDEN=1 re-records)"
    }

    /// JSON with sorted keys, two-space indents and the volatile members masked.
    public static func canonicalJSON(_ text: String) throws -> String {
        var out = ""
        write(try JSONValue.parse(Array(text.utf8)), indent: "", to: &out)
        return out + "\n"
    }

    private static func write(_ value: JSONValue, indent: String, to out: inout String) {
        let inner = indent + "  "
        switch value {
        case .object(let o) where !o.isEmpty:
            out += "{\n"
            for (i, key) in o.keys.sorted().enumerated() {
                out += inner
                JSONValue.writeString(key, to: &out)
                out += ": "
                if volatileMembers.contains(key) { out += "\"…\"" } else { write(o[key]!, indent: inner, to: &out) }
                out += i == o.count - 1 ? "\n" : ",\n"
            }
            out += indent + "}"
        case .array(let a) where !a.isEmpty:
            out += "[\n"
            for (i, item) in a.enumerated() {
                out += inner
                write(item, indent: inner, to: &out)
                out += i == a.count - 1 ? "\n" : ",\n"
            }
            out += indent + "]"
        default:
            value.write(to: &out)
        }
    }
}
