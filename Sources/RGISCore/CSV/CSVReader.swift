/// One CSV record and the line it started on.
public struct CSVRecord: Sendable {
    /// 1-based line of the file where the record starts (the header is line 1).
    public let line: Int
    public let fields: [String]
}

/// Streams RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF, newlines inside quotes.
public struct CSVReader {
    private var input: ByteStream
    private let delimiter: UInt8

    public init(_ input: ByteStream, delimiter: UInt8 = UInt8(ascii: ",")) {
        self.input = input
        self.delimiter = delimiter
    }

    public var offset: Int { input.offset }

    /// The most bytes one record may take, so that memory stays bounded whatever the file holds.
    public static let maxRecordBytes = 16 << 20

    /// The next record, or nil at the end of the file. Blank lines are skipped.
    public mutating func next() throws -> CSVRecord? {
        if input.offset == 0, try input.peek() == 0xEF {
            for _ in 0..<3 { _ = try input.next() }
        }
        while true {
            guard try input.peek() != nil else { return nil }
            let line = input.line
            var fields: [String] = []
            var field: [UInt8] = []
            var quoted = false
            var wasQuoted = false
            var recordBytes = 0
            recordLoop: while true {
                guard let b = try input.next() else {
                    if quoted {
                        throw RGISError(.malformedInput, "line \(line): a quoted field is not closed before the end of the file")
                    }
                    break recordLoop
                }
                recordBytes += 1
                if recordBytes > Self.maxRecordBytes {
                    throw RGISError(.malformedInput, "line \(line): a record longer than \(Self.maxRecordBytes >> 20) MB\(quoted ? " (a quoted field that is never closed?)" : "")")
                }
                if quoted {
                    if b == UInt8(ascii: "\"") {
                        if try input.peek() == UInt8(ascii: "\"") {
                            _ = try input.next()
                            field.append(b)
                        } else {
                            quoted = false
                        }
                    } else {
                        field.append(b)
                    }
                    continue
                }
                switch b {
                case UInt8(ascii: "\"") where field.isEmpty && !wasQuoted:
                    quoted = true
                    wasQuoted = true
                case delimiter:
                    fields.append(String(decoding: field, as: UTF8.self))
                    field.removeAll(keepingCapacity: true)
                    wasQuoted = false
                case 0x0D:
                    if try input.peek() == 0x0A { _ = try input.next() }
                    break recordLoop
                case 0x0A:
                    break recordLoop
                default:
                    field.append(b)
                }
            }
            fields.append(String(decoding: field, as: UTF8.self))
            if fields.count == 1 && fields[0].isEmpty && !wasQuoted { continue }
            return CSVRecord(line: line, fields: fields)
        }
    }
}
