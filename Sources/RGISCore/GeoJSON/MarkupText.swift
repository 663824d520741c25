/// Text inside HTML or XML (pages, e-mail, Atom): `&`, `<`, `>` and `"` as entities, so that it can
/// stand in an element or a double-quoted attribute.
public enum MarkupText {
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
