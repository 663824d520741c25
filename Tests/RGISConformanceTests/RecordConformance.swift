import Foundation
import Testing
import RGISCore
import RGISStore
import RGISTesting

/// Single-record writes (``RecordStore``): versions, ownership, idempotency and change events, with
/// writers racing, on every backend.
@Suite("Conformance: records and their writers")
struct RecordConformance {
    static func listing(price: Int, agent: String = "agent-01") -> JSONValue {
        try! JSONValue.parse(Array(#"""
            {"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,48.03]},
             "properties":{"agent":"\#(agent)","list_price":\#(price),"living_area_m2":61,"bedrooms":2,"property_type":"apartment","status":"active"}}
            """#.utf8))
    }

    static func code(_ body: () async throws -> Void) async -> RGISError.Code? {
        do { try await body(); return nil } catch let error as RGISError { return error.code } catch { return .database }
    }

    @Test("a write is read back whole, by another open of the store at once; every write changes the ETag; a stale If-Match is refused",
          arguments: Backends.all)
    func versions(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        let created = try await store.create(.listing, Self.listing(price: 250_000), owner: "agent-01", client: nil, idempotency: nil)
        let other = try await backend.reopen(store)
        let read = try await other.record(.listing, id: created.id)
        #expect(read.etag == created.etag)
        #expect(read.wholeJSON["properties"]?["list_price"]?.number == 250_000)
        let changed = try await store.change(.listing, id: created.id, .mergePatch(try JSONValue.parse(Array(#"{"properties":{"list_price":240000}}"#.utf8))),
                                             condition: WriteCondition(ifMatch: created.etag, owner: "agent-01"))
        #expect(changed.etag != created.etag)
        #expect(try await other.record(.listing, id: created.id).etag == changed.etag)
        let stale = await Self.code {
            _ = try await store.change(.listing, id: created.id, .mergePatch(try JSONValue.parse(Array(#"{"properties":{"bedrooms":3}}"#.utf8))),
                                       condition: WriteCondition(ifMatch: created.etag, owner: "agent-01"))
        }
        #expect(stale == .preconditionFailed)
        // The price change is an event; the refused write left none.
        let kinds = try await store.events(.listings, id: created.id).map(\.kind.rawValue)
        #expect(kinds == ["new", "price_change"], "\(kinds)")
    }

    @Test("two writers racing on one If-Match: exactly one wins, the other is refused, and the record holds the winner's change",
          arguments: Backends.all)
    func racingIfMatch(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        for round in 0..<10 {
            let created = try await store.create(.listing, Self.listing(price: 300_000 + round), owner: "agent-01", client: nil, idempotency: nil)
            let writers = [try await backend.reopen(store), try await backend.reopen(store)]
            let outcomes = await withTaskGroup(of: (Int, RGISError.Code?).self) { group in
                for (i, writer) in writers.enumerated() {
                    group.addTask {
                        let patch = try! JSONValue.parse(Array(#"{"properties":{"list_price":\#(200_000 + i)}}"#.utf8))
                        let code = await Self.code {
                            _ = try await writer.change(.listing, id: created.id, .mergePatch(patch), condition: WriteCondition(ifMatch: created.etag, owner: "agent-01"))
                        }
                        return (i, code)
                    }
                }
                var all: [(Int, RGISError.Code?)] = []
                for await outcome in group { all.append(outcome) }
                return all
            }
            let winners = outcomes.filter { $0.1 == nil }.map(\.0)
            #expect(winners.count == 1, "round \(round): \(outcomes)")
            #expect(outcomes.filter { $0.1 == .preconditionFailed }.count == 1, "round \(round): \(outcomes)")
            if let winner = winners.first {
                let price = try await store.record(.listing, id: created.id).wholeJSON["properties"]?["list_price"]?.number
                #expect(price == Double(200_000 + winner))
            }
        }
    }

    @Test("the same Idempotency-Key from two requests at once creates one record; the other replays it or is refused as a conflict",
          arguments: Backends.all)
    func racingIdempotencyKey(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        for round in 0..<10 {
            let body = try JSONValue.parse(Array(#"{"contact":{"name":"Race \#(round)"},"lifecycle_stage":"viewing"}"#.utf8))
            let key = IdempotencyKey(user: "anna", key: "k-\(round)", endpoint: "/clients", bodySHA256: "sha-\(round)")
            let writers = [try await backend.reopen(store), try await backend.reopen(store)]
            let results = await withTaskGroup(of: Result<WriteResult, RGISError>.self) { group in
                for writer in writers {
                    group.addTask {
                        do { return .success(try await writer.create(.client, body, owner: "agent-01", client: nil, idempotency: key)) }
                        catch let error as RGISError { return .failure(error) }
                        catch { return .failure(RGISError(.database, "\(error)")) }
                    }
                }
                var all: [Result<WriteResult, RGISError>] = []
                for await result in group { all.append(result) }
                return all
            }
            let written = results.compactMap { try? $0.get() }
            #expect(!written.isEmpty, "round \(round): \(results)")
            #expect(Set(written.map(\.id)).count == 1, "round \(round): two records for one key")
            #expect(written.filter { !$0.replayed }.count == 1, "round \(round)")
            for case .failure(let error) in results { #expect(error.code == .conflict, "round \(round): \(error)") }
            let clients = try await store.clients(agent: "agent-01", limit: 1000, after: nil)
            #expect(clients.filter { $0.wholeJSON["contact"]?["name"]?.stringValue == "Race \(round)" }.count == 1)
        }
    }

    @Test("a record is changed and deleted only by its agent (or an admin); a delete logs withdrawn and the record is gone",
          arguments: Backends.all)
    func ownership(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        let created = try await store.create(.listing, Self.listing(price: 199_000), owner: "agent-01", client: nil, idempotency: nil)
        let patch = try JSONValue.parse(Array(#"{"properties":{"list_price":1}}"#.utf8))
        #expect(await Self.code { _ = try await store.change(.listing, id: created.id, .mergePatch(patch), condition: WriteCondition(owner: "agent-02")) } == .forbidden)
        #expect(await Self.code { try await store.delete(.listing, id: created.id, condition: WriteCondition(owner: "agent-02")) } == .forbidden)
        #expect(try await store.record(.listing, id: created.id).wholeJSON["properties"]?["list_price"]?.number == 199_000)
        try await store.delete(.listing, id: created.id, condition: WriteCondition(owner: nil))
        #expect(await Self.code { _ = try await store.record(.listing, id: created.id) } == .notFound)
        let kinds = try await store.events(.listings, id: created.id).map(\.kind.rawValue)
        #expect(kinds.last == "withdrawn", "\(kinds)")
    }
}
