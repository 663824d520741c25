import Foundation
import RGISCore
import RGISStore

/// Reads a source on a thread of its own, a few batches ahead of the writer, so that parsing and
/// typing the next rows overlaps with storing the last ones (an import is otherwise one core's work).
///
/// Rows come out in the file's order, each batch as the source gave it; an error that ends the
/// reading comes after the rows read before it. ``stop()`` ends the reading thread and waits for it,
/// so that nothing reads the file once the import is over.
struct PrefetchedSource: FeatureSource {
    private let channel: RowChannel
    private var batch: [SourceRow] = []
    private var index = 0
    private var ending: Result<Void, any Error>?
    private(set) var bytesRead = 0

    init(_ source: any FeatureSource, batchSize: Int = 256, batchesAhead: Int = 8) {
        let channel = RowChannel(capacity: batchesAhead)
        self.channel = channel
        let reader = ReadingSource(source)
        let thread = Thread {
            var source = reader.source
            defer { channel.readerEnded() }
            while !channel.isStopped {
                var rows: [SourceRow] = []
                rows.reserveCapacity(batchSize)
                do {
                    while rows.count < batchSize, let row = try source.next() { rows.append(row) }
                } catch {
                    channel.put(RowBatch(rows: rows, bytesRead: source.bytesRead, ending: .failure(error)))
                    return
                }
                let last = rows.count < batchSize
                channel.put(RowBatch(rows: rows, bytesRead: source.bytesRead, ending: last ? .success(()) : nil))
                if last { return }
            }
        }
        // Parsing recurses with a GeoJSON's nesting; a thread's default stack is smaller than the main one's.
        thread.stackSize = 16 << 20
        thread.name = "rgis-import-reader"
        thread.start()
    }

    mutating func next() throws -> SourceRow? {
        while index == batch.count {
            if let ending {
                try ending.get()
                return nil
            }
            let next = channel.take()
            batch = next.rows
            index = 0
            bytesRead = next.bytesRead
            ending = next.ending
        }
        defer { index += 1 }
        return batch[index]
    }

    /// Ends the reading (when the import is over, whether it stored everything or failed) and waits
    /// for the reading thread to be done with the source.
    func stop() { channel.stop() }
}

/// The source, handed to the reading thread, which alone uses it from then on.
private final class ReadingSource: @unchecked Sendable {
    let source: any FeatureSource
    init(_ source: any FeatureSource) { self.source = source }
}

private struct RowBatch {
    let rows: [SourceRow]
    let bytesRead: Int
    /// Set on the last batch: the end of the file, or the error that ended the reading.
    let ending: Result<Void, any Error>?
}

/// A bounded queue of batches between one reading thread and the writer.
private final class RowChannel: @unchecked Sendable {
    private let condition = NSCondition()
    private let capacity: Int
    private var batches: [RowBatch] = []
    private var stopped = false
    private var readerRunning = true

    init(capacity: Int) { self.capacity = capacity }

    var isStopped: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopped
    }

    /// Waits for room; a stopped channel drops the batch.
    func put(_ batch: RowBatch) {
        condition.lock()
        defer { condition.unlock() }
        while batches.count >= capacity && !stopped { condition.wait() }
        if !stopped { batches.append(batch) }
        condition.broadcast()
    }

    /// Waits for the next batch (the reader always ends with a batch that says so).
    func take() -> RowBatch {
        condition.lock()
        defer { condition.unlock() }
        while batches.isEmpty { condition.wait() }
        let batch = batches.removeFirst()
        condition.broadcast()
        return batch
    }

    func readerEnded() {
        condition.lock()
        readerRunning = false
        condition.broadcast()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        defer { condition.unlock() }
        stopped = true
        batches.removeAll()
        condition.broadcast()
        while readerRunning { condition.wait() }
    }
}
