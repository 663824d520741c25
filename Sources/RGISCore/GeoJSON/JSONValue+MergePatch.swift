extension JSONValue {
    /// RFC 7396 JSON merge patch: members of an object patch replace or (when null) remove the target's
    /// members, recursively; any other patch replaces the target whole.
    public func mergePatched(with patch: JSONValue) -> JSONValue {
        guard case .object(let changes) = patch else { return patch }
        var result: [String: JSONValue] = if case .object(let o) = self { o } else { [:] }
        for (key, change) in changes {
            if change.isNull {
                result.removeValue(forKey: key)
            } else {
                result[key] = (result[key] ?? .null).mergePatched(with: change)
            }
        }
        return .object(result)
    }
}
