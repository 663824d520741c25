import Foundation

/// A feature ready to store: its source id, checked geometry, typed fields and the properties no field took.
public struct LayerRecord: Sendable {
    /// The source id; nil when the source has none and the store must generate one.
    public var id: String?
    public var geometry: Geometry
    /// Values by field name; fields without a value are absent.
    public var values: [String: FieldValue]
    /// Properties that are not fields of the layer, kept as they came so that nothing is lost.
    public var extra: [String: JSONValue]

    public init(id: String?, geometry: Geometry, values: [String: FieldValue], extra: [String: JSONValue]) {
        self.id = id
        self.geometry = geometry
        self.values = values
        self.extra = extra
    }
}

/// `--map source=field,...`: renames source properties onto layer fields.
public struct FieldMapping: Sendable, Equatable {
    /// Field name by source property name.
    public let targets: [String: String]

    public init(_ targets: [String: String] = [:]) { self.targets = targets }

    /// Reads `price=list_price,beds=bedrooms` and checks every target is a field of the layer
    /// (or `lon`, `lat`, `wkt` for CSV geometry columns).
    public init(parsing text: String, for layer: Layer) throws {
        var targets: [String: String] = [:]
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw RGISError(.malformedInput, "--map: '\(pair)' is not source=field")
            }
            let allowed = layer.fields.map(\.name) + ["id", "lon", "lat", "wkt"]
            guard allowed.contains(parts[1]) else {
                throw RGISError(.invalidValue, "--map: '\(parts[1])' is not a field of \(layer); fields are \(layer.fields.map(\.name).joined(separator: ", "))")
            }
            targets[parts[0]] = parts[1]
        }
        self.targets = targets
    }

    public func target(of source: String) -> String { targets[source] ?? source }
}

/// Turns source features (GeoJSON or CSV rows) into ``LayerRecord``s for one layer.
public struct LayerRecordBuilder: Sendable {
    public let layer: Layer
    public let mapping: FieldMapping
    public let idField: String?
    /// Search radius for demands given as a point without `radius_m`.
    public let defaultRadiusMetres: Double?
    public let sourceSRID: SRID
    // Looked up for every property of every feature: kept here rather than asked of the layer each time.
    private let fieldsByName: [String: Field]
    private let defaultedFields: [Field]
    /// The min/max pairs of the layer's fields.
    private let orderedPairs: [(low: String, high: String)]

    public init(layer: Layer, mapping: FieldMapping = FieldMapping(), idField: String? = nil,
                defaultRadiusMetres: Double? = nil, sourceSRID: SRID = .wgs84) {
        self.layer = layer
        self.mapping = mapping
        self.idField = idField
        self.defaultRadiusMetres = defaultRadiusMetres
        self.sourceSRID = sourceSRID
        fieldsByName = Dictionary(uniqueKeysWithValues: layer.fields.map { ($0.name, $0) })
        defaultedFields = layer.fields.filter { $0.defaultValue != nil }
        let names = Set(layer.fields.map(\.name))
        orderedPairs = [("budget_min", "budget_max"), ("area_min_m2", "area_max_m2"), ("valid_from", "valid_to"), ("list_date", "close_date")]
            .filter { names.contains($0.0) && names.contains($0.1) }
    }

    /// Fields that name another record by its id, held to the same alphabet (``RecordID``).
    static let referenceFields: Set<String> = ["client_id", "building_id", "parcel_id", "parent_id"]

    /// Builds a record from a GeoJSON Feature object.
    public func record(fromFeature value: JSONValue) throws -> LayerRecord {
        guard case .object(let feature) = value else {
            throw RGISError(.malformedInput, "feature must be an object, found \(value.typeName)")
        }
        guard case .string(let type)? = feature["type"], type == "Feature" else {
            throw RGISError(.malformedInput, "member of \"features\" is not a GeoJSON Feature (its \"type\" must be \"Feature\")")
        }
        guard let geometryValue = feature["geometry"], !geometryValue.isNull else {
            throw RGISError(.invalidValue, "feature has no geometry (null); \(layer) needs \(acceptedNames)")
        }
        let properties: [String: JSONValue]
        switch feature["properties"] {
        case .object(let p)?: properties = p
        case .null?, nil: properties = [:]
        case let other?: throw RGISError(.malformedInput, "\"properties\" must be an object or null, found \(other.typeName)")
        }
        let geometry = try Geometry(geoJSON: geometryValue)
        return try record(idMember: feature["id"], properties: properties, geometry: geometry)
    }

    /// Builds a record from properties and a geometry (a CSV row, or a feature already taken apart).
    public func record(idMember: JSONValue?, properties: [String: JSONValue], geometry: Geometry) throws -> LayerRecord {
        guard layer.acceptedGeometry.contains(geometry.kind) else {
            throw RGISError(.invalidValue, "geometry \(geometry.typeName) cannot be stored in layer \(layer) (it takes \(acceptedNames))")
        }
        try geometry.validate(in: sourceSRID)

        var values = [String: FieldValue](minimumCapacity: fieldsByName.count)
        var extra: [String: JSONValue] = [:]
        // The Feature's id, else --id-field, else a property that is (or is mapped to) `id`.
        var id = idMember?.identifierText
        if id == nil, let idField { id = properties[idField]?.identifierText }
        var idProperty: String?
        // Without a mapping only `id` itself is `id` (no need to sort the names of every row).
        if id == nil, let source = mapping.targets.isEmpty ? (properties["id"] != nil ? "id" : nil)
            : properties.keys.sorted().first(where: { mapping.target(of: $0) == "id" }) {
            id = properties[source]?.identifierText
            idProperty = source
        }
        if let id { try RecordID.check(id) }
        for (source, value) in properties where source != idProperty {
            if let field = fieldsByName[mapping.targets.isEmpty ? source : mapping.target(of: source)] {
                if let typed = try field.coerce(value) {
                    if Self.referenceFields.contains(field.name), case .text(let reference) = typed { try RecordID.check(reference, at: "field \(field.name)") }
                    values[field.name] = typed
                }
            } else if !value.isNull {
                extra[source] = value
            }
        }
        for field in defaultedFields where values[field.name] == nil {
            if let d = field.defaultValue { values[field.name] = .text(d) }
        }
        if layer == .demands, case .point = geometry {
            if values["radius_m"] == nil, let r = defaultRadiusMetres { values["radius_m"] = .real(r) }
            guard case .real(let r)? = values["radius_m"] else {
                throw RGISError(.invalidValue, "a demand whose search area is a Point needs radius_m (a property, or --radius-m)")
            }
            guard r <= 100_000 else { throw RGISError(.invalidValue, "field radius_m: \(r) is above the maximum 100000 m") }
        }
        try checkRanges(values)
        return LayerRecord(id: id, geometry: geometry, values: values, extra: extra)
    }

    private var acceptedNames: String {
        layer.acceptedGeometry.map(\.rawValue).joined(separator: " or ")
    }

    /// Min/max pairs must be ordered.
    private func checkRanges(_ values: [String: FieldValue]) throws {
        for (low, high) in orderedPairs {
            guard let a = values[low], let b = values[high] else { continue }
            let ordered: Bool = switch (a, b) {
            case (.real(let x), .real(let y)): x <= y
            case (.text(let x), .text(let y)): x <= y
            default: true
            }
            if !ordered { throw RGISError(.invalidValue, "field \(low) must not be greater than \(high)") }
        }
    }
}
