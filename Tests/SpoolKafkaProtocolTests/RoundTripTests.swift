import SpoolKafkaProtocol
import Testing

/// Every API and version this codec speaks, with every field its version has set (the generated
/// `sample(version:random:)`), survives encode -> decode -> encode unchanged.
struct RoundTripTests {
    static let seedsPerVersion: UInt64 = 24

    private func seed(_ api: KafkaAPIKey, _ version: Int16, _ n: UInt64) -> UInt64 {
        UInt64(UInt16(bitPattern: api.rawValue)) << 32 | UInt64(UInt16(bitPattern: version)) << 16 | n
    }

    @Test("every request version of every API round-trips with all its fields set", arguments: KafkaAPIKey.allCases)
    func requestsRoundTrip(api: KafkaAPIKey) throws {
        for version in api.versions {
            for n in 0..<Self.seedsPerVersion {
                var random = SampleRandom(seed: seed(api, version, n))
                let body = KafkaRequestBody.sample(api, version: version, random: &random)
                var writer = KafkaWriter()
                try body.encode(into: &writer, version: version)
                var reader = KafkaReader(writer.bytes)
                let decoded = try KafkaRequestBody(from: &reader, apiKey: api, version: version)
                try reader.expectEnd("\(api) v\(version)")
                #expect(decoded == body, "\(api) request v\(version) seed \(n)")
                var again = KafkaWriter()
                try decoded.encode(into: &again, version: version)
                #expect(again.bytes == writer.bytes, "\(api) request v\(version) seed \(n) re-encodes differently")
            }
        }
    }

    @Test("every response version of every API round-trips with all its fields set", arguments: KafkaAPIKey.allCases)
    func responsesRoundTrip(api: KafkaAPIKey) throws {
        for version in api.versions {
            for n in 0..<Self.seedsPerVersion {
                var random = SampleRandom(seed: seed(api, version, n) ^ 0x5A5A_0000_0000_0000)
                let body = KafkaResponseBody.sample(api, version: version, random: &random)
                var writer = KafkaWriter()
                try body.encode(into: &writer, version: version)
                var reader = KafkaReader(writer.bytes)
                let decoded = try KafkaResponseBody(from: &reader, apiKey: api, version: version)
                try reader.expectEnd("\(api) v\(version)")
                #expect(decoded == body, "\(api) response v\(version) seed \(n)")
                var again = KafkaWriter()
                try decoded.encode(into: &again, version: version)
                #expect(again.bytes == writer.bytes, "\(api) response v\(version) seed \(n) re-encodes differently")
            }
        }
    }

    @Test("whole frames round-trip with the header version each API version calls for", arguments: KafkaAPIKey.allCases)
    func framesRoundTrip(api: KafkaAPIKey) throws {
        for version in api.versions {
            var random = SampleRandom(seed: seed(api, version, 99))
            let request = KafkaRequest(body: .sample(api, version: version, random: &random), version: version,
                                       correlationId: Int32(version) * 7 + 1, clientId: version % 2 == 0 ? nil : "client-\(version)")
            let frame = try request.encodedFrame()
            let split = try #require(try KafkaFrame.next(in: frame[...]))
            #expect(split.consumed == frame.count)
            #expect(try KafkaRequest.decode(frame: split.frame) == request, "\(api) v\(version)")
            // Header v2 (flexible) ends with an empty tagged-field section after the classic client id.
            let (header, bodyPosition) = try KafkaRequest.decodeHeader(frame: split.frame)
            let clientIdBytes = 2 + (header.clientId?.utf8.count ?? 0)
            #expect(bodyPosition == 8 + clientIdBytes + (api.isFlexible(version) ? 1 : 0), "\(api) v\(version) header size")

            let response = KafkaResponse(correlationId: 41, body: .sample(api, version: version, random: &random))
            let responseFrame = try response.encodedFrame(version: version)
            let responseSplit = try #require(try KafkaFrame.next(in: responseFrame[...]))
            #expect(try KafkaResponse.decode(frame: responseSplit.frame, apiKey: api, version: version) == response)
        }
    }

    @Test("every proper prefix of every encoded message is rejected as truncated, never trapped", arguments: KafkaAPIKey.allCases)
    func truncatedMessagesThrow(api: KafkaAPIKey) throws {
        for version in api.versions {
            var random = SampleRandom(seed: seed(api, version, 7))
            let request = try KafkaRequestBody.sample(api, version: version, random: &random).bytes(version)
            let response = try KafkaResponseBody.sample(api, version: version, random: &random).bytes(version)
            for length in stride(from: 0, to: request.count, by: max(1, request.count / 300)) {
                var reader = KafkaReader(Array(request[..<length]))
                #expect(throws: KafkaProtocolError.self, "\(api) request v\(version) cut at \(length)") {
                    _ = try KafkaRequestBody(from: &reader, apiKey: api, version: version)
                }
            }
            for length in stride(from: 0, to: response.count, by: max(1, response.count / 300)) {
                var reader = KafkaReader(Array(response[..<length]))
                #expect(throws: KafkaProtocolError.self, "\(api) response v\(version) cut at \(length)") {
                    _ = try KafkaResponseBody(from: &reader, apiKey: api, version: version)
                }
            }
        }
    }
}

extension KafkaRequestBody {
    func bytes(_ version: Int16) throws -> [UInt8] {
        var writer = KafkaWriter()
        try encode(into: &writer, version: version)
        return writer.bytes
    }
}

extension KafkaResponseBody {
    func bytes(_ version: Int16) throws -> [UInt8] {
        var writer = KafkaWriter()
        try encode(into: &writer, version: version)
        return writer.bytes
    }
}
