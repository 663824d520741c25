import RGISCore
import Testing

/// Expects `body` to throw an ``RGISError`` with `code` (and, when given, a location containing
/// `location`): a test that a wrong kind of error passes is a test that cannot fail.
@discardableResult
public func expectError(_ code: RGISError.Code, at location: String? = nil, sourceLocation: SourceLocation = #_sourceLocation,
                        _ body: () throws -> Void) -> RGISError? {
    verify(Result { try body() }, code, location, sourceLocation)
}

/// The same for an async body.
@discardableResult
public func expectError(_ code: RGISError.Code, at location: String? = nil, sourceLocation: SourceLocation = #_sourceLocation,
                        _ body: () async throws -> Void) async -> RGISError? {
    let outcome: Result<Void, any Error>
    do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
    return verify(outcome, code, location, sourceLocation)
}

private func verify(_ outcome: Result<Void, any Error>, _ code: RGISError.Code, _ location: String?, _ sourceLocation: SourceLocation) -> RGISError? {
    switch outcome {
    case .success:
        Issue.record("expected \(code) but nothing was thrown", sourceLocation: sourceLocation)
        return nil
    case .failure(let error as RGISError):
        if error.code != code { Issue.record("expected \(code), got \(error.code): \(error)", sourceLocation: sourceLocation) }
        if let location, !(error.location ?? "").contains(location) {
            Issue.record("expected the error at \(location), got \(error.location ?? "none"): \(error)", sourceLocation: sourceLocation)
        }
        return error
    case .failure(let error):
        Issue.record("expected an RGISError \(code), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
