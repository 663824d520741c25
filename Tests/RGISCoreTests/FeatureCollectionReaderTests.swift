import Testing
import RGISCore

@Suite("FeatureCollectionReader")
struct FeatureCollectionReaderTests {
    /// Feeds the text in small chunks so that tokens straddle chunk boundaries.
    func reader(_ text: String, chunk: Int = 7) -> FeatureCollectionReader {
        var bytes = Array(text.utf8)[...]
        return FeatureCollectionReader(ByteStream {
            guard !bytes.isEmpty else { return nil }
            let piece = Array(bytes.prefix(chunk))
            bytes = bytes.dropFirst(chunk)
            return piece
        })
    }

    func readAll(_ text: String) throws -> [RawFeature] {
        var r = reader(text)
        var features: [RawFeature] = []
        while let f = try r.next() { features.append(f) }
        return features
    }

    func error(_ text: String) -> RGISError? {
        do {
            _ = try readAll(text)
            return nil
        } catch let e as RGISError {
            return e
        } catch {
            return nil
        }
    }

    @Test("streams every feature with its number and line, members in any order")
    func streamsFeatures() throws {
        let text = """
            {"bbox": [0, 0, 1, 1], "features": [
              {"type": "Feature", "properties": {"s": "a ] } [ \\" b"}, "geometry": null},
              {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [1, 2]}}
            ], "type": "FeatureCollection", "name": "x"}
            """
        let features = try readAll(text)
        #expect(features.map(\.number) == [1, 2])
        #expect(features.map(\.line) == [2, 3])
        let second = try JSONValue.parse(features[1].json)
        #expect(second["geometry"]?["type"] == .string("Point"))
        let first = try JSONValue.parse(features[0].json)
        #expect(first["properties"]?["s"] == .string("a ] } [ \" b"))
    }

    @Test("an empty features array yields nothing")
    func emptyCollection() throws {
        #expect(try readAll(#"{"type":"FeatureCollection","features":[]}"#).isEmpty)
    }

    @Test("an empty file is refused as empty")
    func emptyFile() {
        #expect(error("")?.reason == "file is empty")
        #expect(error("  \n ")?.reason == "file is empty")
    }

    @Test("a top-level Feature is refused, naming its type")
    func featureNotCollection() {
        let e = error(#"{"type": "Feature", "geometry": null, "properties": {}}"#)
        #expect(e?.code == .malformedInput)
        #expect(e?.reason.contains("'Feature'") == true)
    }

    @Test("a top-level array is refused")
    func topLevelArray() {
        #expect(error("[1, 2]")?.reason.contains("array") == true)
    }

    @Test("text that is not JSON is refused with its line")
    func notJSON() {
        let e = error("hello world")
        #expect(e?.code == .malformedInput)
        #expect(e?.reason.contains("line 1") == true)
    }

    @Test("a truncated document is refused")
    func truncated() {
        let e = error(#"{"type":"FeatureCollection","features":[{"type":"Feature","#)
        #expect(e?.reason.contains("ends in the middle") == true)
    }

    @Test("an object without type FeatureCollection is refused after reading")
    func missingType() {
        #expect(error(#"{"features": []}"#)?.reason.contains("FeatureCollection") == true)
    }
}

@Suite("JSON parser")
struct JSONParserTests {
    @Test("values of every kind, escapes and exact integers")
    func values() throws {
        let v = try JSONValue.parse(Array(#"{"a":[1,-2.5e3,true,false,null],"s":"x\"\\\/\u00e9\ud83d\ude00\n","big":9007199254740993}"#.utf8))
        #expect(v["a"] == .array([.int(1), .double(-2500), .bool(true), .bool(false), .null]))
        #expect(v["s"] == .string("x\"\\/é😀\n"))
        #expect(v["big"] == .int(9_007_199_254_740_993))
    }

    @Test("malformed text is refused with the byte offset", arguments: [
        "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"abc", "tru", "{\"a\":1}x", "[1 2]", "\"\\x\"",
    ])
    func malformed(_ text: String) {
        do {
            _ = try JSONValue.parse(Array(text.utf8))
            Issue.record("accepted \(text)")
        } catch let e as RGISError {
            #expect(e.reason.contains("at byte"))
        } catch {
            Issue.record("\(error)")
        }
    }
}

@Suite("JSON writer")
struct JSONWriterTests {
    @Test("strings are written whole when nothing needs escaping, escaped where something does, and read back the same",
          arguments: ["", "Prenzlauer Berg", "Zürich – 北京 😀", "a \"quoted\" word", "back\\slash", "two\nlines\tand\r", "bell \u{07} and \u{1F}",
                      "/ is not escaped"])
    func strings(_ s: String) throws {
        var out = ""
        JSONValue.writeString(s, to: &out)
        #expect(try JSONValue.parse(Array(out.utf8)) == .string(s))
        #expect(out.utf8.allSatisfy { $0 >= 0x20 }, "no raw control character in \(out)")
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) { #expect(out == "\"" + s + "\"") }
    }

    @Test("control characters are written as \\u escapes")
    func controlCharacters() {
        var out = ""
        JSONValue.writeString("a\u{01}b\u{1F}", to: &out)
        #expect(out == #""a\u0001b\u001f""#)
    }
}
