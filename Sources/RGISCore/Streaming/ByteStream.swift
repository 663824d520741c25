/// Bytes read in chunks from somewhere (a file, standard input, memory), one byte at a time.
///
/// Parsers in RGISCore read through this so that they never hold a whole file: memory stays at one
/// chunk whatever the file's size. The caller supplies the chunks; RGISCore itself does no I/O.
public struct ByteStream {
    public typealias ChunkSource = () throws -> [UInt8]?

    private let nextChunk: ChunkSource
    private var chunk: [UInt8] = []
    private var index = 0
    private var finished = false

    /// Bytes consumed so far (for progress).
    public private(set) var offset: Int = 0
    /// 1-based line of the next byte.
    public private(set) var line: Int = 1

    public init(_ nextChunk: @escaping ChunkSource) {
        self.nextChunk = nextChunk
    }

    /// A stream over bytes already in memory.
    public init(bytes: [UInt8]) {
        var given: [UInt8]? = bytes
        self.init { defer { given = nil }; return given }
    }

    @inline(__always)
    public mutating func peek() throws -> UInt8? {
        if index < chunk.count { return chunk[index] }
        return try refill() ? chunk[index] : nil
    }

    /// Up to `count` of the next bytes without consuming them (from the chunk at hand: enough to
    /// recognise a file by its first bytes or to look at a CSV header).
    public mutating func peek(upTo count: Int) throws -> ArraySlice<UInt8> {
        guard try peek() != nil else { return [] }
        return chunk[index..<min(chunk.count, index + count)]
    }

    @inline(__always)
    public mutating func next() throws -> UInt8? {
        if index >= chunk.count, try !refill() { return nil }
        let byte = chunk[index]
        index += 1
        offset += 1
        if byte == 0x0A { line += 1 }
        return byte
    }

    private mutating func refill() throws -> Bool {
        while !finished {
            guard let more = try nextChunk() else {
                finished = true
                break
            }
            if !more.isEmpty {
                chunk = more
                index = 0
                return true
            }
        }
        return false
    }
}
