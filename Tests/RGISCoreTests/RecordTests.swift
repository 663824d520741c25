import Testing
import RGISCore

@Suite("Records and fields")
struct RecordTests {
    let point = Geometry.point(Position(lon: 13.4, lat: 52.5))

    @Test("a non-numeric price is refused, naming the field")
    func nonNumericPrice() {
        let builder = LayerRecordBuilder(layer: .listings)
        do {
            _ = try builder.record(idMember: nil, properties: ["list_price": .string("cheap")], geometry: point)
            Issue.record("accepted")
        } catch let e as RGISError {
            #expect(e.reason == "field list_price: 'cheap' is not a number")
        } catch {}
    }

    @Test("--map renames properties onto fields; unknown properties are kept in extra")
    func mapping() throws {
        let mapping = try FieldMapping(parsing: "price=list_price", for: .listings)
        let builder = LayerRecordBuilder(layer: .listings, mapping: mapping)
        let r = try builder.record(idMember: nil, properties: ["price": .int(35), "beds": .double(2), "id": .int(7)], geometry: point)
        #expect(r.values["list_price"] == .real(35))
        #expect(r.extra["beds"] == .double(2))
        #expect(r.id == "7")
        #expect(r.values["status"] == .text("active"))
    }

    @Test("--map to a field the layer lacks is refused")
    func badMapping() {
        #expect(throws: RGISError.self) { try FieldMapping(parsing: "price=list_prise", for: .listings) }
        #expect(throws: RGISError.self) { try FieldMapping(parsing: "price", for: .listings) }
    }

    @Test("ids come from the Feature id, else --id-field, else a property named id")
    func idPrecedence() throws {
        let props: [String: JSONValue] = ["uID": .double(12), "id": .string("p")]
        #expect(try LayerRecordBuilder(layer: .listings).record(idMember: .string("f"), properties: props, geometry: point).id == "f")
        #expect(try LayerRecordBuilder(layer: .listings, idField: "uID").record(idMember: nil, properties: props, geometry: point).id == "12")
        #expect(try LayerRecordBuilder(layer: .listings).record(idMember: nil, properties: props, geometry: point).id == "p")
        #expect(try LayerRecordBuilder(layer: .listings).record(idMember: nil, properties: [:], geometry: point).id == nil)
    }

    @Test("a geometry type the layer cannot hold is refused, naming both")
    func wrongGeometry() {
        let line = Geometry.lineString([Position(lon: 0, lat: 0), Position(lon: 1, lat: 1)])
        do {
            _ = try LayerRecordBuilder(layer: .parcels).record(idMember: nil, properties: [:], geometry: line)
            Issue.record("accepted")
        } catch let e as RGISError {
            #expect(e.reason.contains("LineString"))
            #expect(e.reason.contains("parcels"))
        } catch {}
    }

    @Test("codes are matched case-insensitively and unknown ones refused")
    func codes() throws {
        let f = Layer.listings.field(named: "property_type")!
        #expect(try f.coerce(.string("Apartment")) == .text("apartment"))
        #expect(throws: RGISError.self) { try f.coerce(.string("castle")) }
        let list = Layer.demands.field(named: "property_types")!
        #expect(try list.coerce(.string("house, Townhouse")) == .text("house,townhouse"))
    }

    @Test("integers refuse fractions; dates must be real calendar dates")
    func integersAndDates() throws {
        let bedrooms = Layer.listings.field(named: "bedrooms")!
        #expect(try bedrooms.coerce(.double(2)) == .integer(2))
        #expect(throws: RGISError.self) { try bedrooms.coerce(.double(2.5)) }
        #expect(throws: RGISError.self) { try bedrooms.coerce(.int(-1)) }
        #expect(ISODate(parsing: "2024-02-29") != nil)
        #expect(ISODate(parsing: "2023-02-29") == nil)
        #expect(ISODate(parsing: "2024-13-01") == nil)
        #expect(ISODate(parsing: "2024-05-31T12:30:00Z")?.text == "2024-05-31T12:30:00Z")
        #expect(ISODate(parsing: "31.05.2024") == nil)
    }

    @Test("a demand point needs a radius")
    func demandRadius() throws {
        let b = LayerRecordBuilder(layer: .demands)
        #expect(throws: RGISError.self) { try b.record(idMember: nil, properties: [:], geometry: point) }
        let r = try LayerRecordBuilder(layer: .demands, defaultRadiusMetres: 500).record(idMember: nil, properties: [:], geometry: point)
        #expect(r.values["radius_m"] == .real(500))
        #expect(throws: RGISError.self) {
            try b.record(idMember: nil, properties: ["budget_min": .int(10), "budget_max": .int(5), "radius_m": .int(100)], geometry: point)
        }
    }

    @Test("CSV: quoted fields with commas, doubled quotes and newlines")
    func csv() throws {
        let text = "id,name,lon,lat\r\n1,\"Main St, 5\",13.4,52.5\n2,\"say \"\"hi\"\"\nthere\",13.5,52.6\n\n"
        var reader = CSVReader(ByteStream(bytes: Array(text.utf8)))
        var records: [CSVRecord] = []
        while let r = try reader.next() { records.append(r) }
        #expect(records.count == 3)
        #expect(records[1].fields == ["1", "Main St, 5", "13.4", "52.5"])
        #expect(records[2].fields[1] == "say \"hi\"\nthere")
        #expect(records[2].line == 3)
    }
}
