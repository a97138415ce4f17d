import SpoolFormat

/// The `spool.*` record headers that carry task metadata (FORMAT.md, "The spool.* headers").
/// Values are decimal ASCII, so any Kafka tool shows them as text.
public enum TaskHeaders {
    public static let notBeforeName = "spool.not-before"
    /// The task's priority lane (resource group), e.g. "network"; see ``LaneOptions``.
    public static let laneName = "spool.lane"
    public static let attemptName = "spool.attempt"
    public static let deadLetterReasonName = "spool.dlq-reason"
    public static let sourceOffsetName = "spool.source-offset"
    public static let sourceGroupName = "spool.source-group"
    /// A typed job's name (``Job``), which picks its handler.
    public static let jobName = "spool.job"
    /// The encoding of a typed job's parameters, with its version (``JobCoder/name``).
    public static let jobEncodingName = "spool.job-encoding"

    /// A delayed task's header: not delivered before `milliseconds` since the epoch.
    public static func notBefore(_ milliseconds: Int64) -> RecordHeader {
        RecordHeader(name: notBeforeName, value: Array(String(milliseconds).utf8))
    }

    /// A task's lane header.
    public static func lane(_ name: String) -> RecordHeader {
        RecordHeader(name: laneName, value: Array(name.utf8))
    }

    /// The not-before time in `headers`, if one is there and well-formed.
    static func notBefore(in headers: [RecordHeader]) -> Int64? {
        guard let header = headers.first(where: { $0.name == notBeforeName }), let value = header.value,
            value.count <= 20
        else { return nil }
        return Int64(String(decoding: value, as: UTF8.self))
    }

    /// The text of header `name` in `headers`, if there (at most `bytesMax` bytes are read).
    static func text(_ name: String, in headers: [RecordHeader], bytesMax: Int = 256) -> String? {
        guard let value = headers.first(where: { $0.name == name })?.value else { return nil }
        return String(decoding: value.prefix(bytesMax), as: UTF8.self)
    }

    /// Spool's own headers of a dead letter, which a replay strips.
    static let deadLetterNames: Set<String> = [attemptName, deadLetterReasonName, sourceOffsetName, sourceGroupName]
}
