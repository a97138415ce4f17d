import SpoolKafkaProtocol
import Testing

/// The encodings written out by hand from Kafka's protocol guide, and the errors bad bytes get.
struct WireFormatTests {
    private func decodeError<T: KafkaVersionedMessage>(_ type: T.Type, _ bytes: [UInt8], version: Int16,
                                                       limits: KafkaDecodeLimits = .default) -> KafkaProtocolError? {
        do {
            _ = try T.decode(bytes, version: version, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test("compact strings and an empty tagged-field section are written as Kafka's protocol guide says")
    func flexibleApiVersionsRequestBytes() throws {
        var request = ApiVersionsRequest()
        request.clientSoftwareName = "abc"
        request.clientSoftwareVersion = "1"
        // length+1 as an unsigned varint, the UTF-8, then 0 tagged fields.
        #expect(try request.encoded(version: 3) == [0x04, 0x61, 0x62, 0x63, 0x02, 0x31, 0x00])
        #expect(try request.encoded(version: 2) == [], "v0-2 have no fields")
    }

    @Test("classic encoding: int16 string lengths, int32 array counts, -1 for null")
    func classicMetadataRequestBytes() throws {
        var request = MetadataRequest()
        var topic = MetadataRequest.MetadataRequestTopic()
        topic.name = "q"
        request.topics = [topic]
        #expect(try request.encoded(version: 1) == [0, 0, 0, 1, 0, 1, 0x71])
        request.topics = nil
        #expect(try request.encoded(version: 1) == [0xFF, 0xFF, 0xFF, 0xFF], "null = all topics from v1")
        #expect(try request.encoded(version: 9) == [0x00, 0x01, 0x00, 0x00, 0x00], "compact null array, two bools, no tags")
    }

    @Test("null where the version does not allow it is refused on both sides, naming the field")
    func nullOutsideNullableVersions() throws {
        var request = MetadataRequest()
        request.topics = nil
        #expect(throws: KafkaProtocolError(kind: .unexpectedNull, field: "MetadataRequest.topics", position: 0)) {
            try request.encoded(version: 0)
        }
        #expect(decodeError(MetadataRequest.self, [0xFF, 0xFF, 0xFF, 0xFF], version: 0)
            == KafkaProtocolError(kind: .unexpectedNull, field: "MetadataRequest.topics", position: 0))
    }

    @Test("unsigned varints: boundary values, and a sixth byte is an error")
    func unsignedVarints() throws {
        let cases: [(UInt32, [UInt8])] = [(0, [0]), (127, [0x7F]), (128, [0x80, 0x01]), (300, [0xAC, 0x02]),
                                          (UInt32.max, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F])]
        for (value, bytes) in cases {
            var writer = KafkaWriter()
            writer.writeUnsignedVarint(value)
            #expect(writer.bytes == bytes)
            var reader = KafkaReader(bytes)
            #expect(try reader.readUnsignedVarint("v") == value)
        }
        for bad in [[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], [0xFF, 0xFF, 0xFF, 0xFF, 0x1F]] as [[UInt8]] {
            var reader = KafkaReader(bad)
            #expect(throws: KafkaProtocolError(kind: .invalidVarint, field: "v", position: 0)) { try reader.readUnsignedVarint("v") }
        }
    }

    @Test("an array count larger than the bytes left fails before allocating, naming field and position")
    func hugeArrayCountIsTruncation() {
        // Metadata v4: a topics count of 1000 with 1 byte after it.
        #expect(decodeError(MetadataRequest.self, [0, 0, 0x03, 0xE8, 0x01], version: 4)
            == KafkaProtocolError(kind: .truncated(needed: 1000, remaining: 1), field: "MetadataRequest.topics", position: 0))
    }

    @Test("an array count over the configured limit fails even when the bytes are there")
    func arrayCountOverLimit() {
        var limits = KafkaDecodeLimits()
        limits.maxArrayCount = 2
        let threeTopics: [UInt8] = [0, 0, 0, 3] + [0, 1, 0x61] + [0, 1, 0x62] + [0, 1, 0x63]
        #expect(decodeError(MetadataRequest.self, threeTopics, version: 1, limits: limits)
            == KafkaProtocolError(kind: .overLimit(length: 3, limit: 2), field: "MetadataRequest.topics", position: 0))
        #expect(decodeError(MetadataRequest.self, threeTopics, version: 1) == nil)
    }

    @Test("a string longer than the frame is a truncation at the string's position")
    func stringPastTheEnd() {
        // Header v1: key 3, version 1, correlation 7, client id of 100 bytes with only 3 present.
        let frame: [UInt8] = [0, 3, 0, 1, 0, 0, 0, 7, 0, 100, 0x61, 0x62, 0x63]
        #expect(throws: KafkaProtocolError(kind: .truncated(needed: 100, remaining: 3), field: "RequestHeader.clientId", position: 8)) {
            try KafkaRequest.decode(frame: frame)
        }
    }

    @Test("a string that is not UTF-8 is refused")
    func invalidUTF8() {
        let frame: [UInt8] = [0, 3, 0, 1, 0, 0, 0, 7, 0, 2, 0xC3, 0x28, 0xFF, 0xFF, 0xFF, 0xFF]
        #expect(throws: KafkaProtocolError(kind: .invalidUTF8, field: "RequestHeader.clientId", position: 8)) {
            try KafkaRequest.decode(frame: frame)
        }
    }

    @Test("frame sizes: negative and over-limit sizes fail at once, a partial frame waits")
    func frameSizes() throws {
        var limits = KafkaDecodeLimits()
        limits.maxFrameBytes = 1000
        #expect(throws: KafkaProtocolError(kind: .invalidLength(-2), field: "frame size", position: 0)) {
            try KafkaFrame.next(in: [0xFF, 0xFF, 0xFF, 0xFE][...], limits: limits)
        }
        #expect(throws: KafkaProtocolError(kind: .overLimit(length: 1001, limit: 1000), field: "frame size", position: 0)) {
            try KafkaFrame.next(in: [0, 0, 0x03, 0xE9][...], limits: limits)
        }
        #expect(try KafkaFrame.next(in: [0, 0, 0, 5, 1, 2][...], limits: limits) == nil)
        #expect(try KafkaFrame.next(in: [0, 0][...], limits: limits) == nil)
        let two: [UInt8] = [0, 0, 0, 2, 9, 8, 0, 0, 0, 1, 7]
        let first = try #require(try KafkaFrame.next(in: two[...], limits: limits))
        #expect(first.frame == [9, 8] && first.consumed == 6)
        let second = try #require(try KafkaFrame.next(in: two[first.consumed...], limits: limits))
        #expect(second.frame == [7] && second.consumed == 5)
    }

    @Test("an unknown API key or version still yields the correlation id to answer with")
    func unknownApiAndVersionKeepTheHeader() throws {
        let unknownKey: [UInt8] = [0, 200, 0, 0, 0, 0, 0, 42, 0, 1, 0x63]
        #expect(try KafkaRequest.decodeHeader(frame: unknownKey).header.correlationId == 42)
        #expect(throws: KafkaProtocolError(kind: .unknownAPIKey(200), field: "RequestHeader.requestApiKey", position: 0)) {
            try KafkaRequest.decode(frame: unknownKey)
        }
        // Produce v99: read with the flexible header (v2), so its tagged fields are skipped.
        let futureProduce: [UInt8] = [0, 0, 0, 99, 0, 0, 0, 43, 0xFF, 0xFF, 0x00, 0x01, 0x02]
        let (header, bodyPosition) = try KafkaRequest.decodeHeader(frame: futureProduce)
        #expect(header.correlationId == 43 && header.clientId == nil && bodyPosition == 11)
        #expect(throws: KafkaProtocolError(kind: .unsupportedVersion(99), field: "ProduceRequest", position: 11)) {
            try KafkaRequest.decode(frame: futureProduce)
        }
    }

    @Test("bytes after the end of a request are an error, not ignored")
    func trailingBytes() throws {
        var request = HeartbeatRequest()
        request.groupId = "g"
        let frame = try KafkaRequest(body: .heartbeat(request), version: 0, correlationId: 1, clientId: "c").encodedFrame()
        let body = Array(frame.dropFirst(4))
        #expect(try KafkaRequest.decode(frame: body).body == .heartbeat(request))
        #expect(throws: KafkaProtocolError(kind: .trailingBytes(1), field: "HeartbeatRequest", position: body.count)) {
            try KafkaRequest.decode(frame: body + [0])
        }
    }

    @Test("unknown tagged fields are kept and written back in tag order")
    func unknownTaggedFieldsSurvive() throws {
        // ApiVersions v3: name "a", version "b", two tagged fields: tag 9 (1 byte), tag 2 (2 bytes).
        let bytes: [UInt8] = [0x02, 0x61, 0x02, 0x62, 0x02, 0x02, 0x02, 0xAA, 0xBB, 0x09, 0x01, 0xCC]
        let request = try ApiVersionsRequest.decode(bytes, version: 3)
        #expect(request.unknownTaggedFields == [KafkaTaggedField(tag: 2, data: [0xAA, 0xBB]), KafkaTaggedField(tag: 9, data: [0xCC])])
        #expect(try request.encoded(version: 3) == bytes)
        var twice = request
        twice.unknownTaggedFields.append(KafkaTaggedField(tag: 2, data: []))
        #expect(throws: KafkaProtocolError(kind: .duplicateTag(2), field: "ApiVersionsRequest", position: 4)) {
            try twice.encoded(version: 3)
        }
    }

    @Test("tags out of order or repeated are refused on decode, naming the tag's position")
    func taggedFieldOrder() {
        // ApiVersions v3 request: tags 9 then 2, then 2 twice.
        let disorder: [UInt8] = [0x02, 0x61, 0x02, 0x62, 0x02, 0x09, 0x01, 0xCC, 0x02, 0x00]
        #expect(decodeError(ApiVersionsRequest.self, disorder, version: 3)
            == KafkaProtocolError(kind: .tagOutOfOrder(tag: 2, previous: 9), field: "ApiVersionsRequest", position: 8))
        let repeated: [UInt8] = [0x02, 0x61, 0x02, 0x62, 0x02, 0x02, 0x00, 0x02, 0x00]
        #expect(decodeError(ApiVersionsRequest.self, repeated, version: 3)
            == KafkaProtocolError(kind: .tagOutOfOrder(tag: 2, previous: 2), field: "ApiVersionsRequest", position: 7))
    }

    @Test("a known tagged field whose value is longer than its value's encoding is refused")
    func knownTaggedFieldWithExtraBytes() {
        // ApiVersions response v3: no error, no api keys, throttle 0, tag 1 (FinalizedFeaturesEpoch) of 9 bytes.
        let bytes: [UInt8] = [0, 0, 0x01, 0, 0, 0, 0, 0x01, 0x01, 0x09, 0, 0, 0, 0, 0, 0, 0, 5, 0xEE]
        #expect(decodeError(ApiVersionsResponse.self, bytes, version: 3)
            == KafkaProtocolError(kind: .trailingBytes(1), field: "ApiVersionsResponse.finalizedFeaturesEpoch", position: 18))
        var good = bytes
        good.removeLast()
        good[9] = 0x08
        #expect((try? ApiVersionsResponse.decode(good, version: 3))?.finalizedFeaturesEpoch == 5)
    }

    @Test("a value the version cannot carry is an encoding error unless Kafka marks the field ignorable")
    func fieldsMissingFromAVersion() throws {
        var request = MetadataRequest()
        request.allowAutoTopicCreation = false  // v4+, not ignorable
        #expect(throws: KafkaProtocolError(kind: .fieldNotInVersion(3), field: "MetadataRequest.allowAutoTopicCreation", position: 4)) {
            try request.encoded(version: 3)
        }
        var topic = FetchResponse.FetchableTopicResponse()
        topic.topicId = KafkaUUID(high: 1, low: 2)  // v13+, ignorable: dropped at v12
        topic.topic = "q"
        var response = FetchResponse()
        response.responses = [topic]
        let v12 = try FetchResponse.decode(try response.encoded(version: 12), version: 12)
        #expect(v12.responses.first?.topic == "q" && v12.responses.first?.topicId == .zero)
    }

    @Test("ApiVersions responses keep header v0 even in flexible versions; other flexible responses use v1")
    func responseHeaderVersions() throws {
        let apiVersions = try KafkaResponse(correlationId: 5, body: .apiVersions(ApiVersionsResponse())).encodedFrame(version: 3)
        #expect(Array(apiVersions[4..<10]) == [0, 0, 0, 5, 0, 0], "correlation id then the error code, no tag byte")
        let heartbeat = try KafkaResponse(correlationId: 5, body: .heartbeat(HeartbeatResponse())).encodedFrame(version: 4)
        #expect(Array(heartbeat[4..<9]) == [0, 0, 0, 5, 0], "correlation id then an empty tagged-field section")
        #expect(KafkaAPIKey.apiVersions.responseHeaderVersion(3) == 0 && KafkaAPIKey.heartbeat.responseHeaderVersion(4) == 1)
    }
}
