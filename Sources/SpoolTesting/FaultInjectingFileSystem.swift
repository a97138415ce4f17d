import Glibc
import Spool
import Synchronization

/// A ``FileSystem`` that passes every call to another one, except where a test or a drill has
/// planned a fault: writes that fail with ENOSPC once a budget of bytes is spent, syncs that
/// fail with EIO, and a count of the calls made. It is the seam for fault injection; the
/// engine under test is the real one.
///
/// Thread-safe: the plan and counters sit behind a mutex.
public final class FaultInjectingFileSystem: FileSystem {
    /// What to break. Paths are matched by suffix (".log", "recovery-point", ...).
    public struct Plan: Sendable {
        /// Writes to matching files fail with `writeErrno` once this many bytes were written to them.
        public var writeBudgetBytes: Int64? = nil
        public var writeSuffix: String = ""
        public var writeErrno: Int32 = ENOSPC
        /// Allocations (posix_fallocate) of files matching `writeSuffix` fail with this errno
        /// while set: a file system too full to give an index its blocks.
        public var allocateErrno: Int32? = nil
        /// fdatasync/fsync fail with this errno while set.
        public var syncErrno: Int32? = nil
        /// Renames of matching paths fail with EIO (to interrupt atomic-file protocols).
        public var failRenameSuffix: String? = nil
        /// A crash at a chosen step: once this many changing calls (open to create or
        /// truncate, write, fsync, fdatasync, ftruncate, rename, unlink) have been made since the plan was set, every
        /// further one
        /// fails with EIO and changes nothing, as if the process had died just before it.
        /// Counting them first (``Counters/mutations``) gives the steps to sweep.
        public var failMutationsAfter: Int? = nil
        public init() {}
    }

    /// What was called, for assertions.
    public struct Counters: Sendable, Equatable {
        public var writes = 0
        public var bytesWritten: Int64 = 0
        public var dataSyncs = 0
        public var fullSyncs = 0
        public var renames = 0
        /// Changing calls made since the plan was last set.
        public var mutations = 0
        /// Files and directories opened.
        public var opens = 0
    }

    private struct State {
        var plan: Plan
        var counters = Counters()
        var paths: [Int32: String] = [:]
        var budgetSpent: Int64 = 0
    }

    private let base: any FileSystem
    /// The plan and counters, shared with the copies ``confined(toRoot:)`` makes, so a test's
    /// `setPlan` and `counters` act on the root the engine opened through this one.
    private final class Shared: Sendable {
        private let mutex: Mutex<State>
        init(_ state: State) { mutex = Mutex(state) }
        func withLock<R: Sendable, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
            try mutex.withLock { (state: inout State) throws(E) -> R in try body(&state) }
        }
    }
    private let state: Shared

    public init(wrapping base: any FileSystem = PosixFileSystem(), plan: Plan = Plan()) {
        self.base = base
        self.state = Shared(State(plan: plan))
    }

    private init(wrapping base: any FileSystem, sharing shared: Shared) {
        self.base = base
        self.state = shared
    }

    /// This file system over the wrapped one confined to `path` (symlinks and escapes refused
    /// as in production), with the same plan and counters.
    /// - Throws: as the wrapped file system's `confined(toRoot:)`.
    public func confined(toRoot path: String) throws -> any FileSystem {
        FaultInjectingFileSystem(wrapping: try base.confined(toRoot: path), sharing: state)
    }

    /// Replaces the plan; counters are kept.
    public func setPlan(_ plan: Plan) {
        state.withLock {
            $0.plan = plan
            $0.budgetSpent = 0
            $0.counters.mutations = 0
        }
    }

    /// Counts a changing call; throws EIO when the plan's crash point has passed.
    private func mutation(_ call: String, path: String? = nil) throws {
        let crashed = state.withLock { s -> Bool in
            s.counters.mutations += 1
            guard let limit = s.plan.failMutationsAfter else { return false }
            return s.counters.mutations > limit
        }
        if crashed { throw SpoolError.system("\(call) (after the injected crash)", errno: EIO, path: path) }
    }

    public var counters: Counters { state.withLock { $0.counters } }

    public func open(_ path: String, flags: Int32, mode: mode_t) throws -> Int32 {
        if flags & (O_CREAT | O_TRUNC) != 0 { try mutation("open", path: path) }
        let fd = try base.open(path, flags: flags, mode: mode)
        state.withLock {
            $0.paths[fd] = path
            $0.counters.opens += 1
        }
        return fd
    }

    public func close(_ fd: Int32) {
        state.withLock { _ = $0.paths.removeValue(forKey: fd) }
        base.close(fd)
    }

    public func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at position: Int64) throws -> Int {
        try base.read(fd, into: buffer, at: position)
    }

    public func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at position: Int64) throws {
        try mutation("pwrite")
        let failure: Int32? = state.withLock { s in
            s.counters.writes += 1
            let path = s.paths[fd] ?? ""
            if let budget = s.plan.writeBudgetBytes, path.hasSuffix(s.plan.writeSuffix) {
                if s.budgetSpent + Int64(buffer.count) > budget { return s.plan.writeErrno }
                s.budgetSpent += Int64(buffer.count)
            }
            s.counters.bytesWritten += Int64(buffer.count)
            return nil
        }
        if let failure { throw SpoolError.system("pwrite", errno: failure).with(position: position) }
        try base.write(fd, from: buffer, at: position)
    }

    public func allocate(_ fd: Int32, at position: Int64, length: Int64) throws {
        try mutation("posix_fallocate")
        let failure = state.withLock { s -> Int32? in
            guard let code = s.plan.allocateErrno, (s.paths[fd] ?? "").hasSuffix(s.plan.writeSuffix) else { return nil }
            return code
        }
        if let failure { throw SpoolError.system("posix_fallocate", errno: failure).with(position: position) }
        try base.allocate(fd, at: position, length: length)
    }

    public func fdatasync(_ fd: Int32) throws {
        try mutation("fdatasync")
        let failure = state.withLock { s -> Int32? in
            s.counters.dataSyncs += 1
            return s.plan.syncErrno
        }
        if let failure { throw SpoolError.system("fdatasync", errno: failure) }
        try base.fdatasync(fd)
    }

    public func fsync(_ fd: Int32) throws {
        try mutation("fsync")
        let failure = state.withLock { s -> Int32? in
            s.counters.fullSyncs += 1
            return s.plan.syncErrno
        }
        if let failure { throw SpoolError.system("fsync", errno: failure) }
        try base.fsync(fd)
    }

    public func truncate(_ fd: Int32, to length: Int64) throws {
        try mutation("ftruncate")
        try base.truncate(fd, to: length)
    }

    public func size(_ fd: Int32) throws -> Int64 {
        try base.size(fd)
    }

    public func rename(_ from: String, to: String) throws {
        try mutation("rename", path: from)
        let fail = state.withLock { s -> Bool in
            s.counters.renames += 1
            guard let suffix = s.plan.failRenameSuffix else { return false }
            return to.hasSuffix(suffix)
        }
        if fail { throw SpoolError.system("rename to \(to)", errno: EIO, path: from) }
        try base.rename(from, to: to)
    }

    public func unlink(_ path: String) throws {
        try mutation("unlink", path: path)
        try base.unlink(path)
    }

    public func makeDirectory(_ path: String, mode: mode_t) throws {
        try base.makeDirectory(path, mode: mode)
    }

    public func listDirectory(_ path: String) throws -> [String] { try base.listDirectory(path) }

    public func fileType(_ path: String) -> FileType { base.fileType(path) }
}
