import Foundation
import SpoolFormat
import SpoolKafkaProtocol
import Testing

/// Frames real clients sent (Tools/capture-kafka-requests.py, fixtures/kafka-protocol/README.md):
/// they decode to what the clients were asked to send, and re-encode to the same bytes.
struct CapturedRequestTests {
    struct Manifest: Decodable {
        struct Frame: Decodable {
            let file: String
            let api_key: Int16
            let api_version: Int16
            let correlation_id: Int32
            let client_id: String?
        }

        struct Scenario: Decodable {
            let outcome: String
            let exit_code: Int?
            let frames: [Frame]
        }

        let clients: [String: String]
        let scenarios: [String: Scenario]
    }

    struct Captured {
        let scenario: String
        let entry: Manifest.Frame
        let frame: [UInt8]
        let request: KafkaRequest

        /// "kafka-python", "librdkafka" or "aiokafka".
        var client: String { String(scenario[..<scenario.lastIndex(of: "-")!]) }
    }

    static let directory = "fixtures/kafka-protocol/requests"

    static func manifest() throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: Fixtures.url("\(directory)/manifest.json")))
    }

    static func captured() throws -> [Captured] {
        let manifest = try manifest()
        var out: [Captured] = []
        for (scenario, recorded) in manifest.scenarios.sorted(by: { $0.key < $1.key }) {
            for entry in recorded.frames {
                let bytes = try Fixtures.bytes("\(directory)/\(scenario)/\(entry.file)")
                let split = try #require(try KafkaFrame.next(in: bytes[...]), "\(scenario)/\(entry.file) is not a whole frame")
                #expect(split.consumed == bytes.count, "\(scenario)/\(entry.file) has bytes after its frame")
                out.append(Captured(scenario: scenario, entry: entry, frame: bytes, request: try KafkaRequest.decode(frame: split.frame)))
            }
        }
        return out
    }

    @Test("all thirteen client scenarios ran to the end against the codec's canned responses")
    func everyScenarioCompleted() throws {
        let manifest = try Self.manifest()
        let expected = ["aiokafka", "kafka-python", "librdkafka"].flatMap { client in
            ["admin", "consumer", "group", "producer"].map { "\(client)-\($0)" }
        } + ["librdkafka-share"]
        #expect(manifest.scenarios.keys.sorted() == expected.sorted())
        for (name, scenario) in manifest.scenarios where name != "librdkafka-share" {
            #expect(scenario.exit_code == 0, "\(name)")
        }
        // librdkafka 2.16.0's share consumer ("Preview") crashes in close() after the scenario's
        // last line; what it received and acknowledged came first.
        #expect(manifest.scenarios["librdkafka-share"]?.outcome == "consumed [b'first task', b'second task']")
        for (name, scenario) in manifest.scenarios where name != "librdkafka-share" {
            let expected = name.hasSuffix("producer") ? "produced" : name.hasSuffix("admin") ? "admin done" : "consumed b'first task'"
            #expect(scenario.outcome == expected, "\(name): \(scenario.outcome)")
        }
    }

    @Test("every captured frame decodes with the API, version, correlation id and client id the client sent")
    func capturedHeadersDecode() throws {
        let captured = try Self.captured()
        #expect(captured.count >= 18)
        for c in captured {
            let where_ = "\(c.scenario)/\(c.entry.file)"
            #expect(c.request.header.requestApiKey == c.entry.api_key, "\(where_)")
            #expect(c.request.body.apiKey.rawValue == c.entry.api_key, "\(where_)")
            #expect(c.request.apiVersion == c.entry.api_version, "\(where_)")
            #expect(c.request.header.correlationId == c.entry.correlation_id, "\(where_)")
            #expect(c.request.header.clientId == "spool-capture-\(c.client)", "\(where_)")
            #expect(c.request.header.clientId == c.entry.client_id, "\(where_)")
        }
    }

    @Test("every captured frame re-encodes to exactly the bytes the client sent")
    func capturedFramesReencodeCanonically() throws {
        for c in try Self.captured() {
            #expect(try c.request.encodedFrame() == c.frame, "\(c.scenario)/\(c.entry.file)")
        }
    }

    @Test("flexible ApiVersions requests name the client software")
    func capturedApiVersionsNameTheSoftware() throws {
        var seen = 0
        for c in try Self.captured() {
            guard case let .apiVersions(request) = c.request.body, c.request.apiVersion >= 3 else { continue }
            seen += 1
            #expect(!request.clientSoftwareName.isEmpty && !request.clientSoftwareVersion.isEmpty, "\(c.scenario)")
            if c.client == "librdkafka" {
                #expect(request.clientSoftwareName == "confluent-kafka-python")
                #expect(request.clientSoftwareVersion.hasSuffix("rdkafka-2.16.0"), "\(request.clientSoftwareVersion)")
            }
        }
        #expect(seen >= 4, "kafka-python and librdkafka send ApiVersions v3+")
    }

    @Test("captured Metadata requests are brokers-only (empty list), all topics (null) or name exactly the client's topic")
    func capturedMetadataRequests() throws {
        var naming = Set<String>(), brokersOnly = Set<String>(), allTopics = Set<String>()
        for c in try Self.captured() {
            guard case let .metadata(request) = c.request.body else { continue }
            let names = request.topics?.map(\.name)
            if names == [CannedResponses.topic] { naming.insert(c.client) }
            if names == [] { brokersOnly.insert(c.client) }
            // nil asks for every topic (v1+, aiokafka's admin client does); [] for brokers only.
            #expect(names == [] || names == [CannedResponses.topic] || (names == nil && c.request.apiVersion >= 1),
                    "\(c.scenario): \(String(describing: names))")
            if names == nil { allTopics.insert(c.scenario) }
            if c.request.apiVersion >= 10, let topic = request.topics?.first {
                #expect(topic.topicId == .zero, "\(c.scenario): asked by name, not id")
            }
            if c.scenario == "librdkafka-producer" || c.scenario == "librdkafka-consumer" {
                #expect(request.allowAutoTopicCreation == (c.scenario == "librdkafka-producer"), "\(c.scenario): only producers auto-create")
            }
        }
        #expect(naming == ["aiokafka", "kafka-python", "librdkafka"], "every client names its topic somewhere")
        #expect(brokersOnly == ["aiokafka", "kafka-python", "librdkafka"], "every client also sends a brokers-only request")
        #expect(allTopics == ["aiokafka-admin"])
    }

    @Test("captured Produce requests carry the record each client produced, readable by SpoolFormat")
    func capturedProduceCarriesTheRecord() throws {
        var clients: [String] = []
        for c in try Self.captured() {
            guard case let .produce(request) = c.request.body else { continue }
            clients.append(c.client)
            #expect(request.acks == (c.client == "librdkafka" ? -1 : 1), "\(c.scenario) acks")
            #expect(request.transactionalId == nil)
            let topic = try #require(request.topicData.first)
            #expect(request.topicData.count == 1 && topic.name == CannedResponses.topic)
            let partition = try #require(topic.partitionData.first)
            #expect(topic.partitionData.count == 1 && partition.index == 0)
            let records = try #require(partition.records)
            let batch = try records.withUnsafeBytes { try RecordBatchDecoder.decode($0) }
            #expect(batch.records.count == 1)
            let record = try #require(batch.records.first)
            #expect(record.key == Array("key-1".utf8))
            #expect(record.value == Array("hello from \(c.client)".utf8))
            #expect(record.headers == [RecordHeader(name: "h", value: Array("v".utf8))])
        }
        #expect(clients.sorted() == ["aiokafka", "kafka-python", "librdkafka"])
    }

    @Test("captured ListOffsets and Fetch requests ask for partition 0 of the topic, from the earliest offset")
    func capturedConsumerRequests() throws {
        var listOffsets = 0, fetches = 0
        var fetched = Set<String>()
        for c in try Self.captured() {
            switch c.request.body {
            case let .listOffsets(request):
                listOffsets += 1
                let topic = try #require(request.topics.first)
                #expect(topic.name == CannedResponses.topic && topic.partitions.map(\.partitionIndex) == [0], "\(c.scenario)")
                #expect(topic.partitions.first?.timestamp == -2, "\(c.scenario): earliest is timestamp -2")
            case let .fetch(request):
                fetches += 1
                let topic = try #require(request.topics.first)
                if c.request.apiVersion >= 13 {
                    #expect(topic.topicId == CannedResponses.topicId, "\(c.scenario): the id the Metadata response gave")
                } else {
                    #expect(topic.topic == CannedResponses.topic, "\(c.scenario)")
                }
                #expect(topic.partitions.map(\.partition) == [0], "\(c.scenario)")
                // From the earliest offset; a second fetch continues after the canned batch (offsets 0-1).
                let expected: Int64 = fetched.insert(c.scenario).inserted ? 0 : 2
                #expect(topic.partitions.first?.fetchOffset == expected, "\(c.scenario)")
                #expect(request.maxWaitMs > 0 && request.replicaId == -1, "\(c.scenario): a consumer, with a long-poll wait")
            default:
                continue
            }
        }
        #expect(listOffsets == 6 && fetched.count == 6 && fetches >= 6)
    }

    @Test("captured classic-group requests name the group, the member the coordinator gave, and the committed offset")
    func capturedGroupRequests() throws {
        var seen: [String: Set<String>] = [:]
        for c in try Self.captured() where c.scenario.hasSuffix("-group") {
            let group = CannedResponses.group, member = CannedResponses.memberId
            let v = c.request.apiVersion
            switch c.request.body {
            case let .findCoordinator(r):
                #expect((v >= 4 ? r.coordinatorKeys : [r.key]) == [group] && r.keyType == 0, "\(c.scenario)")
            case let .joinGroup(r):
                #expect(r.groupId == group && r.memberId == "" && r.protocolType == "consumer", "\(c.scenario)")
                let offered = r.protocols.map(\.name)
                #expect(offered.contains(CannedResponses.assignor), "\(c.scenario) offers \(offered)")
                for p in r.protocols {  // ConsumerProtocolSubscription: the topic appears in every offer
                    #expect(p.metadata.count > 2 && String(decoding: p.metadata, as: UTF8.self).contains(CannedResponses.topic), "\(c.scenario)")
                }
            case let .syncGroup(r):
                #expect(r.groupId == group && r.generationId == 1 && r.memberId == member, "\(c.scenario)")
                #expect(r.assignments.isEmpty, "\(c.scenario): a follower assigns nothing")
            case let .heartbeat(r):
                #expect(r.groupId == group && r.generationId == 1 && r.memberId == member, "\(c.scenario)")
            case let .offsetFetch(r):
                let (id, topics) = v >= 8 ? (r.groups.first?.groupId, r.groups.first?.topics?.map { ($0.name, $0.partitionIndexes) })
                                          : (r.groupId, r.topics?.map { ($0.name, $0.partitionIndexes) })
                #expect(id == group && topics?.count == 1 && topics?.first?.0 == CannedResponses.topic && topics?.first?.1 == [0], "\(c.scenario)")
            case let .offsetCommit(r):
                #expect(r.groupId == group && r.generationIdOrMemberEpoch == 1 && r.memberId == member, "\(c.scenario)")
                let partition = r.topics.first?.partitions.first
                #expect(r.topics.first?.name == CannedResponses.topic && partition?.partitionIndex == 0, "\(c.scenario)")
                #expect(partition?.committedOffset == 1, "\(c.scenario): the offset after the one record consumed")
            case let .leaveGroup(r):
                #expect(r.groupId == group && (v >= 3 ? r.members.map(\.memberId) : [r.memberId]) == [member], "\(c.scenario)")
            default:
                continue
            }
            seen[c.client, default: []].insert("\(c.request.body.apiKey)")
        }
        for client in ["kafka-python", "librdkafka", "aiokafka"] {
            #expect(seen[client, default: []].isSuperset(of: ["FindCoordinator", "JoinGroup", "SyncGroup", "OffsetFetch", "OffsetCommit", "LeaveGroup"]),
                    "\(client): \(seen[client, default: []].sorted())")
        }
    }

    @Test("captured admin requests create and delete the admin topic and ask about the capture group")
    func capturedAdminRequests() throws {
        var seen: [String: Set<String>] = [:]
        for c in try Self.captured() where c.scenario.hasSuffix("-admin") {
            let v = c.request.apiVersion
            switch c.request.body {
            case let .createTopics(r):
                let topic = try #require(r.topics.first)
                #expect(r.topics.count == 1 && topic.name == CannedResponses.adminTopic, "\(c.scenario)")
                #expect(topic.numPartitions == 1 && topic.replicationFactor == 1 && topic.assignments.isEmpty, "\(c.scenario)")
                #expect(r.timeoutMs > 0 && !r.validateOnly, "\(c.scenario)")
            case let .deleteTopics(r):
                let names = v >= 6 ? r.topics.map { $0.name ?? "" } : r.topicNames
                #expect(names == [CannedResponses.adminTopic], "\(c.scenario)")
                if v >= 6 { #expect(r.topics.first?.topicId == .zero, "\(c.scenario): by name") }
            case let .listGroups(r):
                #expect(r.statesFilter.isEmpty, "\(c.scenario): all states")
            case let .describeGroups(r):
                #expect(r.groups == [CannedResponses.group], "\(c.scenario)")
            default:
                continue
            }
            seen[c.client, default: []].insert("\(c.request.body.apiKey)")
        }
        for client in ["kafka-python", "librdkafka", "aiokafka"] {
            #expect(seen[client] == ["CreateTopics", "DeleteTopics", "ListGroups", "DescribeGroups"], "\(client)")
        }
    }

    @Test("captured share-group requests (KIP-932, v1) join the share group, fetch partition 0 by topic id and accept both records")
    func capturedShareRequests() throws {
        var memberIds = Set<String>(), accepted = Set<Int64>(), apis = Set<String>()
        for c in try Self.captured() where c.scenario == "librdkafka-share" {
            switch c.request.body {
            case let .shareGroupHeartbeat(r):
                #expect(c.request.apiVersion == 1)
                #expect(r.groupId == "spool-capture-share" && !r.memberId.isEmpty, "\(r)")
                memberIds.insert(r.memberId)
                if r.memberEpoch == 0 { #expect(r.subscribedTopicNames == [CannedResponses.topic], "joining names the topic") }
            case let .shareFetch(r):
                #expect(c.request.apiVersion == 1 && r.groupId == "spool-capture-share", "\(r)")
                memberIds.insert(r.memberId ?? "")
                #expect(r.maxRecords > 0 && r.maxWaitMs > 0, "v1 carries the record limit")
                #expect(r.topics.map(\.topicId) == [CannedResponses.topicId] && r.topics.first?.partitions.map(\.partitionIndex) == [0])
            case let .shareAcknowledge(r):
                #expect(c.request.apiVersion == 1 && r.groupId == "spool-capture-share", "\(r)")
                memberIds.insert(r.memberId ?? "")
                for batch in r.topics.flatMap(\.partitions).flatMap(\.acknowledgementBatches) {
                    #expect(batch.acknowledgeTypes.allSatisfy { $0 == 1 }, "ACCEPT is 1: \(batch)")
                    for offset in batch.firstOffset...batch.lastOffset { accepted.insert(offset) }
                }
            default:
                continue
            }
            apis.insert("\(c.request.body.apiKey)")
        }
        #expect(apis == ["ShareGroupHeartbeat", "ShareFetch", "ShareAcknowledge"])
        #expect(memberIds.count == 1, "one member id, chosen by the client: \(memberIds)")
        #expect(accepted == [0, 1])
    }
}
