#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How a job's parameters become a task's payload and back. The coder's ``name`` (with its
/// version, e.g. `json/1`) is written into each task's `spool.job-encoding` header, so a worker
/// never decodes bytes with a coder other than the one that wrote them.
///
/// Thread-safety: implementations must be `Sendable`; the worker calls ``decode(_:from:)``
/// from several handler tasks at once.
public protocol JobCoder: Sendable {
    /// The encoding and its version, at most 64 bytes: `"json/1"`, `"protobuf/2"`.
    var name: String { get }
    /// - Throws: whatever the encoding throws for a value it cannot represent.
    func encode<Parameters: Encodable>(_ parameters: Parameters) throws -> [UInt8]
    /// - Throws: whatever the encoding throws for bytes that are not a `Parameters`.
    func decode<Parameters: Decodable>(_ type: Parameters.Type, from bytes: [UInt8]) throws -> Parameters
}

/// The default coder: JSON (Foundation's `JSONEncoder`/`JSONDecoder` with their defaults).
public struct JSONJobCoder: JobCoder {
    public var name: String { "json/1" }

    public init() {}

    public func encode<Parameters: Encodable>(_ parameters: Parameters) throws -> [UInt8] {
        Array(try JSONEncoder().encode(parameters))
    }

    public func decode<Parameters: Decodable>(_ type: Parameters.Type, from bytes: [UInt8]) throws -> Parameters {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}
