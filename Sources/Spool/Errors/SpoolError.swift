import Glibc
import SpoolFormat

/// Every error the engine throws. It carries the context an operator needs to act: what went
/// wrong (`code`, `message`), where (`path`, `segment`, `position`, `offset`), the operating
/// system's `errno`, and what to do about it (`hint`).
///
/// **Offset** is a record number; **position** is a byte location in `path`. They are never mixed.
/// When it wraps another error (a `FormatError` from the decoder, a codec library's failure),
/// that error is kept as `cause`, so a caller can match on it instead of on the message.
public struct SpoolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is. Callers branch on this, not on the message.
    public enum Code: String, Sendable, Equatable {
        /// A system call failed (see `errno`).
        case io
        /// The disk or quota is full (ENOSPC, EDQUOT). Nothing already acknowledged was lost.
        case diskFull
        /// Bytes on disk at or below the recovery point, or in a sealed segment, are damaged.
        case corruption
        /// Another process holds the writer lock of this root.
        case locked
        /// A caller passed a value that can never work (bad queue name, bad option).
        case invalidArgument
        /// The writer's pending bytes are at their bound and the policy is `.fail`.
        case queueFull
        /// A path, queue or offset that does not exist.
        case notFound
        /// An offset below the log's start: the segments holding it were deleted by retention
        /// or compaction (those tasks are gone), or past its end. Read from the log start.
        case offsetOutOfRange
        /// The log or root was closed, or an earlier fatal error closed it.
        case closed
        /// A record, batch or file exceeds a configured limit.
        case limitExceeded
        /// The data uses a feature this build does not support (codec, format version).
        case unsupported
    }

    public var code: Code
    public var message: String
    public var path: String?
    /// Base offset of the segment involved, when there is one.
    public var segment: Int64?
    /// Byte position in `path`.
    public var position: Int64?
    /// Record offset involved.
    public var offset: Int64?
    public var errno: Int32?
    /// What the operator or caller should do next.
    public var hint: String?
    /// The error underneath this one, when it wraps another (its text is already part of
    /// `message`). Not part of equality beyond its description.
    public var cause: (any Error)?

    public init(
        _ code: Code, _ message: String, path: String? = nil, segment: Int64? = nil,
        position: Int64? = nil, offset: Int64? = nil, errno: Int32? = nil, hint: String? = nil,
        cause: (any Error)? = nil
    ) {
        self.cause = cause
        self.code = code
        self.message = message
        self.path = path
        self.segment = segment
        self.position = position
        self.offset = offset
        self.errno = errno
        self.hint = hint
    }

    /// Fills in context that is still missing; fields already set are kept.
    public func with(
        path: String? = nil, segment: Int64? = nil, position: Int64? = nil, offset: Int64? = nil,
        hint: String? = nil
    ) -> SpoolError {
        var copy = self
        copy.path = copy.path ?? path
        copy.segment = copy.segment ?? segment
        copy.position = copy.position ?? position
        copy.offset = copy.offset ?? offset
        copy.hint = copy.hint ?? hint
        return copy
    }

    public static func == (a: SpoolError, b: SpoolError) -> Bool {
        a.code == b.code && a.message == b.message && a.path == b.path && a.segment == b.segment
            && a.position == b.position && a.offset == b.offset && a.errno == b.errno && a.hint == b.hint
            && a.cause.map { String(describing: $0) } == b.cause.map { String(describing: $0) }
    }

    public var description: String {
        var text = "\(code.rawValue): \(message)"
        var context: [String] = []
        if let path { context.append("file \(path)") }
        if let segment { context.append("segment \(segment)") }
        if let position { context.append("position \(position)") }
        if let offset { context.append("offset \(offset)") }
        if let errno { context.append("errno \(errno) (\(String(cString: strerror(errno))))") }
        if !context.isEmpty { text += " [" + context.joined(separator: ", ") + "]" }
        if let hint { text += ". " + hint }
        return text
    }

    /// An error from a failed system call, classified by errno. `package`: the test file
    /// systems in SpoolTesting fail the way the real one does.
    package static func system(_ call: String, errno code: Int32, path: String? = nil) -> SpoolError {
        switch code {
        case ENOSPC, EDQUOT:
            return SpoolError(
                .diskFull, "\(call) failed: no space left on device", path: path, errno: code,
                hint: "free space or move the root to a larger disk; acknowledged tasks are intact")
        case EMFILE, ENFILE:
            return SpoolError(
                .limitExceeded, "\(call) failed: too many open files", path: path, errno: code,
                hint:
                    "raise the open-file limit (ulimit -n; each open queue and group log holds up to 64 descriptors for the segments it reads, plus a few of its own); nothing on disk is damaged"
            )
        case ENOENT:
            return SpoolError(.notFound, "\(call) failed: no such file or directory", path: path, errno: code)
        case EROFS:
            return SpoolError(
                .io, "\(call) failed: read-only file system", path: path, errno: code,
                hint:
                    "the file system holding the root is mounted read-only (or was remounted so after an error: check dmesg); "
                    + "remount it read-write, or use the read-only commands (dump, verify, stats, tail, dlq list)")
        case EACCES, EPERM:
            return SpoolError(
                .io, "\(call) failed: permission denied", path: path, errno: code,
                hint: "check the owner and mode of the directory (Spool creates files 0600, directories 0700)")
        default:
            return SpoolError(.io, "\(call) failed", path: path, errno: code)
        }
    }

    /// Wraps a format error found in a file, with where it was found.
    static func corruption(
        _ error: any Error, path: String, segment: Int64?, position: Int64, offset: Int64?
    ) -> SpoolError {
        if let error = error as? SpoolError {
            return error.with(path: path, segment: segment, position: position, offset: offset)
        }
        let code: Code
        var hint = "inspect the file with `spool dump FILE`; the batch cannot be read as it is"
        switch error as? FormatError {
        case .unsupportedCodec?:
            // Not damage: a build that supports the codec reads the batch.
            code = .unsupported
            hint = "read it with a build of Spool that supports this codec"
        case .dictionaryMissing(let id)?:
            code = .notFound
            hint = "restore dictionaries/\(id).zdict in the queue's directory (see `spool train-dict`)"
        default: code = .corruption
        }
        return SpoolError(
            code, "bad batch: \(error)", path: path, segment: segment, position: position, offset: offset, hint: hint,
            cause: error)
    }
}

extension Error {
    /// Adds context to a ``SpoolError`` (other errors pass through unchanged): for `catch`
    /// blocks, where the error's static type is `any Error`.
    func with(
        path: String? = nil, segment: Int64? = nil, position: Int64? = nil, offset: Int64? = nil, hint: String? = nil
    ) -> any Error {
        guard let error = self as? SpoolError else { return self }
        return error.with(path: path, segment: segment, position: position, offset: offset, hint: hint)
    }

    /// The error as a ``SpoolError``; anything else becomes `.io` with its description.
    var asSpoolError: SpoolError {
        (self as? SpoolError) ?? SpoolError(.io, "\(self)", cause: self)
    }
}
