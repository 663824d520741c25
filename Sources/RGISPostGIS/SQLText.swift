import PostgresNIO
import RGISCore

/// A statement being written: SQL text and its bound values, numbered as they are added. Values are
/// only ever bound (`$n`); names (tables, columns) come from the code's own constants, never input.
struct SQLText: Sendable, ExpressibleByStringLiteral {
    private(set) var text: String
    private(set) var binds = PostgresBindings()

    init(_ text: String = "") { self.text = text }
    init(stringLiteral text: String) { self.text = text }

    /// Appends SQL written by the code.
    mutating func sql(_ piece: String) { text += piece }

    /// Appends `$n` for a value.
    mutating func bind<T: PostgresNonThrowingEncodable & Sendable>(_ value: T) {
        binds.append(value)
        text += "$\(binds.count)"
    }

    /// Appends `$n` for an optional value (NULL when nil).
    mutating func bind<T: PostgresNonThrowingEncodable & Sendable>(_ value: T?) {
        if let value { binds.append(value) } else { binds.appendNull() }
        text += "$\(binds.count)"
    }

    /// A statement written with `?` where each of `values` goes, in order (the text holds no other `?`).
    init(_ text: String, _ values: [(any PostgresNonThrowingEncodable & Sendable)?]) {
        var pieces = text.components(separatedBy: "?")
        precondition(pieces.count == values.count + 1, "a ? for each value")
        self.text = pieces.removeFirst()
        for (value, piece) in zip(values, pieces) {
            if let value {
                bind(value)
            } else {
                binds.appendNull()
                self.text += "$\(binds.count)"
            }
            sql(piece)
        }
    }

    /// `$n` and a cast, for a value whose type the server should not guess.
    mutating func bind<T: PostgresNonThrowingEncodable & Sendable>(_ value: T, as type: String) {
        bind(value)
        text += "::" + type
    }

    /// Puts SQL before and after what is written (the values keep their numbers).
    mutating func wrap(head: String, tail: String) { text = head + text + tail }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: text, binds: binds) }
}

extension ListingFilter {
    /// The filter as ` AND …` conditions on the listings aliased `t`, every value bound.
    func append(to q: inout SQLText, layer: QueryLayer) throws {
        guard !isEmpty else { return }
        guard layer == .listings else {
            throw RGISError(.invalidValue, "listing filters apply to the listings layer only, not \(layer.rawValue)", at: "parameter layer")
        }
        func add(_ column: String, _ op: String, _ value: Double?) {
            guard let value else { return }
            q.sql(" AND t.\(column) \(op) ")
            q.bind(value)
        }
        add("list_price", ">=", priceMin)
        add("list_price", "<=", priceMax)
        add("bedrooms", ">=", bedroomsMin.map(Double.init))
        add("living_area_m2", ">=", livingAreaMinM2)
        add("living_area_m2", "<=", livingAreaMaxM2)
        add("year_built", ">=", yearBuiltMin.map(Double.init))
        add("year_built", "<=", yearBuiltMax.map(Double.init))
        if let since = listedSince {
            q.sql(" AND t.list_date >= ")
            q.bind(since.text)
        }
        if !propertyTypes.isEmpty {
            q.sql(" AND t.property_type = ANY(")
            q.bind(propertyTypes.map(\.rawValue))
            q.sql(")")
        }
        if !statuses.isEmpty {
            q.sql(" AND t.status = ANY(")
            q.bind(statuses.map(\.rawValue))
            q.sql(")")
        }
    }
}
