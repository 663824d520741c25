/// What a store hands out so that callers can keep what they computed from it: equal tokens, read at
/// two times, mean that nothing the token covers was written between them. The converse need not
/// hold (a token may move without a visible change), and tokens are compared only for equality.
/// A backend chooses how to make one; it must not make every writer update one shared row, which
/// would serialise writers (SpatiaLite keeps a counter: its writers are serialised anyway).
public struct ChangeToken: Hashable, Sendable, CustomStringConvertible {
    public let text: String

    public init(_ text: String) { self.text = text }

    public var description: String { text }
}
