import Foundation
import GRDB
import RGISCore
import RGISSpatiaLite
import RGISStore

/// The demo city with the Prague register, real personal data seeded where a leak would show, and a
/// user of each role. Markers are distinctive strings that must appear only to the callers allowed them.
public enum AccessFixture {
    /// Agent A is `agent-01` (client C0001, demand R00001); agent B is `agent-05`.
    public static let agentA = "agent-01", agentB = "agent-05"
    public static let clientA = "C0001", demandA = "R00001"
    /// A parcel of the register with a named rights holder.
    public static let parcel = "365"

    /// Personal values and who may see them.
    public enum Marker: String, CaseIterable, Sendable {
        case contactA = "Alena Dvořáková-Marker"
        case emailA = "alena.marker@example.test"
        case contactB = "Bruno Beck-Marker"
        case phoneB = "+49 170 0000 555"
        case privateA = "Keys with the caretaker, Alpha-Marker"
        case privateB = "Seller phone only after 18:00, Beta-Marker"
        case partyName = "Jiří Novák-Marker"
    }

    /// The first listing of agent A and of agent B (seeded with private fields).
    public static func listings(_ database: RGISDatabase) throws -> (a: String, b: String) {
        try database.read { db in
            (try String.fetchOne(db, sql: "SELECT id FROM listings WHERE agent = ? ORDER BY fid LIMIT 1", arguments: [agentA])!,
             try String.fetchOne(db, sql: "SELECT id FROM listings WHERE agent = ? ORDER BY fid LIMIT 1", arguments: [agentB])!)
        }
    }

    public static func clientB(_ database: RGISDatabase) throws -> String {
        try database.read { db in try String.fetchOne(db, sql: "SELECT id FROM clients WHERE agent = ? ORDER BY id LIMIT 1", arguments: [agentB])! }
    }

    /// A copy of the fixture database.
    public static func database(in dir: TemporaryDirectory, _ name: String = "access.sqlite") throws -> RGISDatabase {
        try Templates.copy("access-city", to: dir.path(name)) { database in
            try database.loadDemoCity()
            let record = ArchiveRecord(date: try ValidDate(parsing: "2010-01-01"),
                                       recordedAt: try RecordTime(parsing: "2010-01-02", field: "recorded_at", day: .startOfDay))
            let register = ArchiveRegister(database)
            _ = try register.register(.parcels, fromFile: Fixtures.shared("prague-bubenec/plots.geojson"), idField: "ID", record: record)
            var transfer = Transfer(parcel: parcel, to: "P-SEED")
            transfer.partyName = Marker.partyName.rawValue
            _ = try register.apply(.transfer(transfer,
                                             ArchiveRecord(date: try ValidDate(parsing: "2012-03-01"),
                                                           recordedAt: try RecordTime(parsing: "2012-03-02", field: "recorded_at", day: .startOfDay))))
            let (listingA, listingB) = try listings(database)
            let b = try clientB(database)
            try database.writeTransaction { db in
                try db.execute(sql: "INSERT INTO client_contacts (client_id, name, phone, email) VALUES (?, ?, '+420 602 111 222', ?)",
                               arguments: [clientA, Marker.contactA.rawValue, Marker.emailA.rawValue])
                try db.execute(sql: "INSERT INTO client_contacts (client_id, name, phone, email) VALUES (?, ?, ?, 'bruno@example.test')",
                               arguments: [b, Marker.contactB.rawValue, Marker.phoneB.rawValue])
                try db.execute(sql: "INSERT INTO listing_private (listing_id, private_remarks, showing_contact_phone) VALUES (?, ?, '+49 151 0000 111')",
                               arguments: [listingA, Marker.privateA.rawValue])
                try db.execute(sql: "INSERT INTO listing_private (listing_id, seller_contact) VALUES (?, ?)", arguments: [listingB, Marker.privateB.rawValue])
            }
        }
    }
}
