import Foundation
import RGISCore
import RGISStore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A file's identity on its file system: what a path names now, or what an open descriptor holds.
struct FileIdentity: Hashable, Sendable {
    let device: UInt64
    let inode: UInt64

    /// What `path` names now (following links); nil when nothing is there.
    init?(path: String) {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
    }
}

/// The files of an open database (the database, `-wal` and `-shm`) and whether this process still
/// writes to the ones other processes open.
///
/// A process that opens a SQLite file must never open and close another descriptor of it: closing
/// any descriptor drops every POSIX lock the process holds on the file, its connections then look
/// absent to other processes, and the next of those to close believes it is the last one, folds the
/// log into the file and deletes the log and shared memory that this process still writes into. The
/// same happens when someone deletes the log or puts another file in the database's place. This
/// watch notices afterwards (the path no longer names what the process holds), so that writes are
/// refused instead of acknowledged into files nobody else can read. It only reads `stat` and
/// `/proc/self/fd`: it opens nothing.
final class DatabaseFiles: Sendable {
    /// The database's canonical path (as `/proc/*/fd` shows it).
    let path: String
    /// The database file this process opened.
    let identity: FileIdentity
    private let state = Mutex<(fault: String?, refusedWrites: Int)>((nil, 0))

    init(path: String) throws {
        let canonical = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let identity = FileIdentity(path: canonical) else {
            throw RGISError(.io, "the database file vanished while it was being opened", at: path)
        }
        self.path = canonical
        self.identity = identity
    }

    /// Why this process's files are no longer the database's, or nil while they are. Once found, the
    /// fault stays: the process must be restarted on the database as it now is.
    var fault: String? {
        if let known = state.withLock({ $0.fault }) { return known }
        guard let found = Self.look(path: path, identity: identity) else { return nil }
        return state.withLock { state in
            if state.fault == nil { state.fault = found }
            return state.fault
        }
    }

    /// Writes refused because of a fault since the database was opened.
    var refusedWrites: Int { state.withLock { $0.refusedWrites } }

    /// Throws ``RGISError/Code/unavailable`` when the files are no longer the database's (see ``fault``).
    func checkAttached() throws {
        guard let fault else { return }
        state.withLock { $0.refusedWrites += 1 }
        throw RGISError(.unavailable, "\(fault); nothing more is written by this process until it is restarted", at: path)
    }

    /// Whether `path` names the database file, its log or its shared memory (by any link): reading
    /// or writing it through a descriptor of its own would close that descriptor afterwards.
    func isOwn(_ path: String) -> Bool {
        if FileIdentity(path: path) == identity { return true }
        let canonical = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        return [self.path, self.path + "-wal", self.path + "-shm", self.path + "-journal"].contains(canonical)
    }

    private static func look(path: String, identity: FileIdentity) -> String? {
        guard let now = FileIdentity(path: path) else {
            return "the database file was deleted or moved away while this process had it open"
        }
        if now != identity {
            return "another file was put in the database's place (a restore or a copy) while this process had it open"
        }
        for link in descriptorLinks(process: "self") {
            if let kind = deletedKind(link, of: path) {
                return "the \(kind) this process writes to was deleted by another process"
            }
        }
        return nil
    }

    /// What a descriptor's link names when it is one of the database's files that was deleted.
    private static func deletedKind(_ link: String, of path: String) -> String? {
        let marker = " (deleted)"
        guard link.hasSuffix(marker) else { return nil }
        switch String(link.dropLast(marker.count)) {
        case path: return "database file"
        case path + "-wal": return "write-ahead log"
        case path + "-shm": return "shared-memory index"
        default: return nil
        }
    }

    /// The targets of a process's open descriptors (`/proc/PID/fd`); empty where there is no `/proc`
    /// or the process's descriptors cannot be read.
    private static func descriptorLinks(process: String) -> [String] {
        let directory = "/proc/\(process)/fd"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\($0)") }
    }

    /// A process that has the database at `path` open, found without opening the database: every
    /// SQLite connection to a database in WAL mode holds a shared lock on one byte of its `-shm` file
    /// (the "dead man switch" at offset 128), which `F_GETLK` reports with its holder's pid. Call it
    /// only in a process that does not have this database open itself: the look opens and closes the
    /// `-shm` file, and closing it would drop this process's own locks on it.
    static func openedElsewhere(_ path: String) -> Int32? {
        let descriptor = open(path + "-shm", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 128
        lock.l_len = 1
        guard fcntl(descriptor, F_GETLK, &lock) == 0, lock.l_type != Int16(F_UNLCK) else { return nil }
        return lock.l_pid
    }

    /// Other processes that write to deleted files of the database at `path`: their writes since are
    /// in files no other process can open, and go when they stop. Read from `/proc/*/fd` (every
    /// process as root, one's own otherwise).
    static func detachedHolders(of path: String) -> [(pid: Int32, command: String, kind: String)] {
        let canonical = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let own = getpid()
        guard let processes = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var found: [(pid: Int32, command: String, kind: String)] = []
        for name in processes {
            guard let pid = Int32(name), pid != own else { continue }
            let kinds = Set(descriptorLinks(process: name).compactMap { deletedKind($0, of: canonical) })
            guard let kind = ["database file", "write-ahead log", "shared-memory index"].first(where: kinds.contains) else { continue }
            let command = (try? String(contentsOfFile: "/proc/\(name)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            found.append((pid, command, kind))
        }
        return found.sorted { $0.pid < $1.pid }
    }
}
