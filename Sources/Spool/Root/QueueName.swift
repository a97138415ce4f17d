/// Checks queue names so that a name can never escape the root: letters, digits, '.', '-' and
/// '_', not "." or "..", not starting with '.'.
///
/// The suffix ``deadLetterSuffix`` is reserved: `<q>.dlq` is the engine's dead-letter queue of
/// `q`, so a user may not create a queue whose name ends with it (opening one that exists, to
/// read or consume dead letters, is allowed). A user's name has at most ``bytesMax`` bytes; the
/// engine's dead-letter names may be longer (up to ``deadLetterBytesMax``), so that every queue
/// can dead-letter.
public enum QueueName {
    /// The longest name a user may create.
    public static let bytesMax = 200
    /// The reserved suffix of dead-letter queues.
    public static let deadLetterSuffix = ".dlq"
    /// The longest name of a dead-letter queue (a user's name plus up to ten `.dlq` suffixes:
    /// a group consuming a dead-letter queue may dead-letter in turn), well under the file
    /// system's 255-byte limit on a directory name.
    public static let deadLetterBytesMax = bytesMax + 10 * 4

    /// Whether `name` is a dead-letter queue's name (ends with ``deadLetterSuffix``).
    public static func isDeadLetter(_ name: String) -> Bool { name.hasSuffix(deadLetterSuffix) }

    /// The name of the dead-letter queue of `queue`.
    public static func deadLetters(of queue: String) -> String { queue + deadLetterSuffix }

    /// Validates a queue name; dead-letter names (reserved suffix) get the longer limit.
    /// - Throws: `.invalidArgument` saying what is wrong with the name.
    public static func validate(_ name: String) throws {
        try validate(name, kind: "queue", limit: isDeadLetter(name) ? deadLetterBytesMax : bytesMax)
    }

    /// Validates a consumer group's name (same alphabet and limit as a queue's, reported as a
    /// group name).
    /// - Throws: `.invalidArgument` saying what is wrong with the name.
    public static func validateGroup(_ name: String) throws {
        try validate(name, kind: "group", limit: bytesMax)
    }

    /// Refuses `name` for a queue the user asks to create: the reserved suffix.
    /// - Throws: `.invalidArgument` naming the suffix.
    public static func validateUserCreated(_ name: String) throws {
        try validate(name)
        guard !isDeadLetter(name) else {
            throw SpoolError(
                .invalidArgument,
                "invalid queue name \"\(name)\": names ending in \"\(deadLetterSuffix)\" are reserved for dead-letter queues",
                hint:
                    "choose another name; the dead letters of queue q are in q\(deadLetterSuffix), created by the engine when a task runs out of attempts"
            )
        }
    }

    private static func validate(_ name: String, kind: String, limit: Int) throws {
        let bytes = Array(name.utf8)
        func reject(_ why: String) -> SpoolError {
            SpoolError(
                .invalidArgument, "invalid \(kind) name \"\(name.debugDescription.dropFirst().dropLast())\": \(why)",
                hint: "use 1-\(bytesMax) letters, digits, '.', '-' or '_', not starting with '.'")
        }
        if bytes.isEmpty { throw reject("it is empty") }
        if bytes.count > limit { throw reject("it is \(bytes.count) bytes, the limit is \(limit)") }
        if bytes.contains(0) { throw reject("it contains a NUL byte") }
        if bytes.contains(UInt8(ascii: "/")) { throw reject("it contains '/'") }
        if bytes[0] == UInt8(ascii: ".") { throw reject("it starts with '.'") }
        let allowed = bytes.allSatisfy { b in
            (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 45 || b == 46 || b == 95
        }
        if !allowed { throw reject("it contains a character other than letters, digits, '.', '-', '_'") }
    }
}
