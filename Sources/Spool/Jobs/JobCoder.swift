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

/// The default coder: JSON, as Foundation's `JSONEncoder`/`JSONDecoder` with their defaults
/// write and read it. Values are written and read by Spool's own one-pass JSON coder (a typed
/// job then costs little more than raw bytes: BENCHMARKS.md, "Typed jobs against raw bytes");
/// what it does not mirror (`Data`, `URL`, `Decimal`, `superEncoder`, bad input) goes through
/// Foundation's coders, so results and errors are Foundation's.
public struct JSONJobCoder: JobCoder {
    public var name: String { "json/1" }

    public init() {}

    /// - Throws: the value's own errors, or `EncodingError` for what JSON cannot hold (a
    ///   non-finite float), as `JSONEncoder` throws them.
    public func encode<Parameters: Encodable>(_ parameters: Parameters) throws -> [UInt8] {
        if let bytes = try? JSONBytesEncoder.encode(parameters) { return bytes }
        return Array(try JSONEncoder().encode(parameters))
    }

    /// - Throws: `DecodingError` as `JSONDecoder` throws it for bytes that are not a `Parameters`.
    public func decode<Parameters: Decodable>(_ type: Parameters.Type, from bytes: [UInt8]) throws -> Parameters {
        if let value = try? JSONBytesDecoder.decode(type, from: bytes) { return value }
        return try JSONDecoder().decode(type, from: Data(bytes))
    }
}
