extension KafkaAPIKey {
    /// Whether `version` of this API uses the flexible encoding. Versions above the highest known
    /// one count as flexible when the API has flexible versions, as Kafka's brokers read them.
    public func isFlexible(_ version: Int16) -> Bool {
        lowestFlexibleVersion.map { version >= $0 } ?? false
    }

    /// RequestHeader version for a request of this API at `version`: 2 when flexible, else 1.
    public func requestHeaderVersion(_ version: Int16) -> Int16 {
        isFlexible(version) ? 2 : 1
    }

    /// ResponseHeader version: 1 when flexible, else 0, except ApiVersions, always 0 (a client
    /// must read the response before it knows which versions the server speaks).
    public func responseHeaderVersion(_ version: Int16) -> Int16 {
        self != .apiVersions && isFlexible(version) ? 1 : 0
    }
}

/// Kafka's framing over TCP: a big-endian int32 size, then that many bytes.
public enum KafkaFrame {
    /// Takes the first whole frame off the front of `buffer`: its bytes (without the size
    /// prefix) and the bytes consumed, or nil when more bytes are needed.
    /// Throws on a negative size or one over `limits.maxFrameBytes`, before waiting for the body,
    /// so a server can close the connection instead of buffering a hostile size.
    public static func next(
        in buffer: ArraySlice<UInt8>, limits: KafkaDecodeLimits = .default
    ) throws(KafkaProtocolError) -> (frame: [UInt8], consumed: Int)? {
        guard buffer.count >= 4 else { return nil }
        let start = buffer.startIndex
        var size = 0
        for i in start..<(start + 4) { size = size << 8 | Int(buffer[i]) }
        let signed = Int(Int32(truncatingIfNeeded: size))
        if signed < 0 { throw KafkaProtocolError(kind: .invalidLength(signed), field: "frame size", position: 0) }
        if signed > limits.maxFrameBytes {
            throw KafkaProtocolError(
                kind: .overLimit(length: signed, limit: limits.maxFrameBytes), field: "frame size", position: 0)
        }
        guard buffer.count - 4 >= signed else { return nil }
        return (Array(buffer[(start + 4)..<(start + 4 + signed)]), 4 + signed)
    }

    /// `body` with its size prefix.
    public static func framed(_ body: [UInt8]) -> [UInt8] {
        var writer = KafkaWriter()
        writer.writeInt32(Int32(truncatingIfNeeded: body.count))
        writer.writeRaw(body)
        return writer.bytes
    }
}

/// A request: its header and its body.
public struct KafkaRequest: Equatable, Sendable {
    public var header: RequestHeader
    public var body: KafkaRequestBody

    public init(header: RequestHeader, body: KafkaRequestBody) {
        self.header = header
        self.body = body
    }

    /// A request with a header made for `body` at `version`.
    public init(body: KafkaRequestBody, version: Int16, correlationId: Int32, clientId: String?) {
        var header = RequestHeader()
        header.requestApiKey = body.apiKey.rawValue
        header.requestApiVersion = version
        header.correlationId = correlationId
        header.clientId = clientId
        self.init(header: header, body: body)
    }

    public var apiVersion: Int16 { header.requestApiVersion }

    /// Reads the header of a frame (without its size prefix) and says where the body starts.
    /// A server uses it to answer a request whose API or version it does not speak with the
    /// right correlation id. An unknown API key's header is read as version 1 (classic).
    public static func decodeHeader(
        frame: [UInt8], limits: KafkaDecodeLimits = .default
    ) throws(KafkaProtocolError) -> (header: RequestHeader, bodyPosition: Int) {
        var reader = KafkaReader(frame, limits: limits)
        let key = try reader.readInt16("RequestHeader.requestApiKey")
        let version = try reader.readInt16("RequestHeader.requestApiVersion")
        var headerReader = KafkaReader(frame, limits: limits)
        let headerVersion = KafkaAPIKey(rawValue: key)?.requestHeaderVersion(version) ?? 1
        let header = try RequestHeader(from: &headerReader, version: headerVersion)
        return (header, headerReader.position)
    }

    /// Reads a whole request frame (without its size prefix). Throws `KafkaProtocolError` with
    /// the field and position: unknown API key, unsupported version, truncation, limits,
    /// trailing bytes. Never traps, whatever the bytes.
    public static func decode(
        frame: [UInt8], limits: KafkaDecodeLimits = .default
    ) throws(KafkaProtocolError) -> KafkaRequest {
        let (header, bodyPosition) = try decodeHeader(frame: frame, limits: limits)
        guard let apiKey = KafkaAPIKey(rawValue: header.requestApiKey) else {
            throw KafkaProtocolError(
                kind: .unknownAPIKey(header.requestApiKey), field: "RequestHeader.requestApiKey", position: 0)
        }
        var reader = KafkaReader(frame, from: bodyPosition, to: frame.count, limits: limits)
        let body = try KafkaRequestBody(from: &reader, apiKey: apiKey, version: header.requestApiVersion)
        try reader.expectEnd("\(apiKey)Request")
        return KafkaRequest(header: header, body: body)
    }

    /// The request's frame, size prefix included. Throws when the header's API key does not
    /// match the body or the body cannot be written at the header's version.
    public func encodedFrame() throws(KafkaProtocolError) -> [UInt8] {
        var writer = KafkaWriter()
        guard header.requestApiKey == body.apiKey.rawValue else {
            throw writer.error("RequestHeader.requestApiKey", .unknownAPIKey(header.requestApiKey))
        }
        try header.encode(into: &writer, version: body.apiKey.requestHeaderVersion(apiVersion))
        try body.encode(into: &writer, version: apiVersion)
        return KafkaFrame.framed(writer.bytes)
    }
}

/// A response: its correlation id (the header) and its body. Its version is the request's.
public struct KafkaResponse: Equatable, Sendable {
    public var header: ResponseHeader
    public var body: KafkaResponseBody

    public init(correlationId: Int32, body: KafkaResponseBody) {
        var header = ResponseHeader()
        header.correlationId = correlationId
        self.header = header
        self.body = body
    }

    public init(header: ResponseHeader, body: KafkaResponseBody) {
        self.header = header
        self.body = body
    }

    /// Reads a response frame (without its size prefix) to a request of `apiKey` at `version`.
    public static func decode(
        frame: [UInt8], apiKey: KafkaAPIKey, version: Int16, limits: KafkaDecodeLimits = .default
    ) throws(KafkaProtocolError) -> KafkaResponse {
        var reader = KafkaReader(frame, limits: limits)
        let header = try ResponseHeader(from: &reader, version: apiKey.responseHeaderVersion(version))
        let body = try KafkaResponseBody(from: &reader, apiKey: apiKey, version: version)
        try reader.expectEnd("\(apiKey)Response")
        return KafkaResponse(header: header, body: body)
    }

    /// The response's frame at `version` (the request's), size prefix included.
    public func encodedFrame(version: Int16) throws(KafkaProtocolError) -> [UInt8] {
        var writer = KafkaWriter()
        try header.encode(into: &writer, version: body.apiKey.responseHeaderVersion(version))
        try body.encode(into: &writer, version: version)
        return KafkaFrame.framed(writer.bytes)
    }
}
