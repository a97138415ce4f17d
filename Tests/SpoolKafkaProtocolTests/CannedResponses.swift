import SpoolFormat
import SpoolKafkaProtocol

/// The responses Tools/capture-kafka-requests.py serves to real clients, so they get as far as
/// Metadata, Produce, ListOffsets and Fetch. They are this codec's output: the test
/// `cannedResponsesAreTheCodecsOutput` pins the files in fixtures/kafka-protocol/responses/ to
/// it (SPOOL_KAFKA_WRITE_CANNED=1 rewrites them), and a client accepting them is evidence that
/// the encoder writes what clients read.
enum CannedResponses {
    static let topic = "spool-capture"
    static let topicId = KafkaUUID(high: 0x5370_6F6F_6C00_4000, low: 0x8000_0000_0000_0001)
    /// The broker port in Metadata responses; the capture script replaces it with its own port.
    static let portPlaceholder: Int32 = 0x5EED_5EED
    /// The correlation id in the files; the capture script writes the request's in its place.
    static let correlationPlaceholder: Int32 = 0x7EAD_BEEF

    /// Every (API, version) served, by file name.
    static func all() throws -> [(name: String, apiKey: KafkaAPIKey, version: Int16, body: KafkaResponseBody)] {
        var out: [(String, KafkaAPIKey, Int16, KafkaResponseBody)] = []
        for api in [KafkaAPIKey.apiVersions, .metadata, .produce, .listOffsets, .fetch, .findCoordinator, .joinGroup, .syncGroup,
                    .heartbeat, .offsetFetch, .offsetCommit, .leaveGroup, .createTopics, .deleteTopics, .listGroups,
                    .describeGroups, .shareGroupHeartbeat, .shareFetch, .shareAcknowledge] {
            for version in api.versions {
                out.append(("\(api)-v\(version).bin", api, version, try body(api, version: version)))
            }
        }
        return out
    }

    static func body(_ api: KafkaAPIKey, version: Int16) throws -> KafkaResponseBody {
        switch api {
        case .apiVersions: .apiVersions(apiVersions())
        case .metadata: .metadata(metadata(version: version))
        case .produce: .produce(produce(version: version))
        case .listOffsets: .listOffsets(listOffsets(version: version))
        case .fetch: .fetch(try fetch(version: version))
        case .findCoordinator: .findCoordinator(findCoordinator(version: version))
        case .joinGroup: .joinGroup(joinGroup(version: version))
        case .syncGroup: .syncGroup(syncGroup(version: version))
        case .heartbeat: .heartbeat(HeartbeatResponse())
        case .offsetFetch: .offsetFetch(offsetFetch(version: version))
        case .offsetCommit: .offsetCommit(offsetCommit())
        case .leaveGroup: .leaveGroup(LeaveGroupResponse())
        case .createTopics: .createTopics(createTopics(version: version))
        case .deleteTopics: .deleteTopics(deleteTopics(version: version))
        case .listGroups: .listGroups(listGroups(version: version))
        case .describeGroups: .describeGroups(describeGroups())
        case .shareGroupHeartbeat: .shareGroupHeartbeat(shareGroupHeartbeat())
        case .shareFetch: .shareFetch(try shareFetch(version: version))
        case .shareAcknowledge: .shareAcknowledge(shareAcknowledge())
        default: preconditionFailure("no canned \(api) response")
        }
    }

    static func apiVersions() -> ApiVersionsResponse {
        var response = ApiVersionsResponse()
        response.apiKeys = KafkaAPIKey.allCases.map { api in
            var entry = ApiVersionsResponse.ApiVersion()
            entry.apiKey = api.rawValue
            entry.minVersion = api.versions.lowerBound
            entry.maxVersion = api.versions.upperBound
            return entry
        }
        return response
    }

    static func metadata(version: Int16) -> MetadataResponse {
        var broker = MetadataResponse.MetadataResponseBroker()
        broker.nodeId = 0
        broker.host = "127.0.0.1"
        broker.port = portPlaceholder
        var partition = MetadataResponse.MetadataResponsePartition()
        partition.leaderId = 0
        partition.leaderEpoch = version >= 7 ? 0 : -1
        partition.replicaNodes = [0]
        partition.isrNodes = [0]
        var topic = MetadataResponse.MetadataResponseTopic()
        topic.name = Self.topic
        topic.topicId = version >= 10 ? topicId : .zero
        topic.partitions = [partition]
        if version < 8 { topic.topicAuthorizedOperations = Int32.min }
        var response = MetadataResponse()
        response.brokers = [broker]
        response.clusterId = version >= 2 ? "spool-capture-cluster" : nil
        response.controllerId = version >= 1 ? 0 : -1
        response.topics = [topic]
        return response
    }

    static func produce(version: Int16) -> ProduceResponse {
        var partition = ProduceResponse.PartitionProduceResponse()
        partition.index = 0
        partition.baseOffset = 0
        partition.logStartOffset = version >= 5 ? 0 : -1
        var topic = ProduceResponse.TopicProduceResponse()
        topic.name = Self.topic
        topic.partitionResponses = [partition]
        var response = ProduceResponse()
        response.responses = [topic]
        return response
    }

    static func listOffsets(version: Int16) -> ListOffsetsResponse {
        var partition = ListOffsetsResponse.ListOffsetsPartitionResponse()
        if version == 0 {
            partition.oldStyleOffsets = [0]
        } else {
            partition.offset = 0
        }
        var topic = ListOffsetsResponse.ListOffsetsTopicResponse()
        topic.name = Self.topic
        topic.partitions = [partition]
        var response = ListOffsetsResponse()
        response.topics = [topic]
        return response
    }

    /// One batch of two records at offset 0, encoded by SpoolFormat.
    static func records() throws -> [UInt8] {
        var out: [UInt8] = []
        let records = [
            RecordInput(value: Array("first task".utf8), key: Array("k1".utf8), timestamp: 1_700_000_000_000),
            RecordInput(value: Array("second task".utf8), key: nil, timestamp: 1_700_000_000_001),
        ]
        try RecordBatchEncoder.encode(records, baseOffset: 0, into: &out)
        return out
    }

    static func fetch(version: Int16) throws -> FetchResponse {
        var partition = FetchResponse.PartitionData()
        partition.highWatermark = 2
        partition.lastStableOffset = version >= 4 ? 2 : -1
        partition.logStartOffset = version >= 5 ? 0 : -1
        partition.records = try records()
        var topic = FetchResponse.FetchableTopicResponse()
        if version >= 13 { topic.topicId = topicId } else { topic.topic = Self.topic }
        topic.partitions = [partition]
        var response = FetchResponse()
        response.responses = [topic]
        return response
    }

    /// Node 0 (this listener) coordinates every group: v0-3 answer for one key, v4+ per key.
    static func findCoordinator(version: Int16) -> FindCoordinatorResponse {
        var response = FindCoordinatorResponse()
        if version >= 4 {
            var coordinator = FindCoordinatorResponse.Coordinator()
            coordinator.key = group
            coordinator.host = "127.0.0.1"
            coordinator.port = portPlaceholder
            response.coordinators = [coordinator]
        } else {
            response.host = "127.0.0.1"
            response.port = portPlaceholder
        }
        return response
    }

    static let group = "spool-capture-group"
    static let memberId = "spool-member-1"
    static let assignor = "roundrobin"

    /// The client joins as a follower (another member leads), so it sends an empty SyncGroup
    /// and takes the assignment it is given: no subscription metadata to parse.
    static func joinGroup(version: Int16) -> JoinGroupResponse {
        var response = JoinGroupResponse()
        response.generationId = 1
        response.protocolType = version >= 7 ? "consumer" : nil
        response.protocolName = assignor
        response.leader = "spool-leader-0"
        response.memberId = memberId
        return response
    }

    /// ConsumerProtocolAssignment v0 (classic encoding, opaque to the group protocol): partition 0
    /// of the topic, null user data.
    static let assignment: [UInt8] = [0, 0, 0, 0, 0, 1, 0, 13] + Array(topic.utf8) + [0, 0, 0, 1, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]

    static func syncGroup(version: Int16) -> SyncGroupResponse {
        var response = SyncGroupResponse()
        if version >= 5 {
            response.protocolType = "consumer"
            response.protocolName = assignor
        }
        response.assignment = assignment
        return response
    }

    /// No committed offset for partition 0 (-1), so the consumer starts from auto.offset.reset.
    static func offsetFetch(version: Int16) -> OffsetFetchResponse {
        var response = OffsetFetchResponse()
        if version >= 8 {
            var partition = OffsetFetchResponse.OffsetFetchResponsePartitions()
            partition.committedOffset = -1
            partition.metadata = ""
            var topic = OffsetFetchResponse.OffsetFetchResponseTopics()
            topic.name = Self.topic
            topic.partitions = [partition]
            var group = OffsetFetchResponse.OffsetFetchResponseGroup()
            group.groupId = Self.group
            group.topics = [topic]
            response.groups = [group]
        } else {
            var partition = OffsetFetchResponse.OffsetFetchResponsePartition()
            partition.committedOffset = -1
            partition.metadata = ""
            var topic = OffsetFetchResponse.OffsetFetchResponseTopic()
            topic.name = Self.topic
            topic.partitions = [partition]
            response.topics = [topic]
        }
        return response
    }

    static func offsetCommit() -> OffsetCommitResponse {
        var topic = OffsetCommitResponse.OffsetCommitResponseTopic()
        topic.name = Self.topic
        topic.partitions = [OffsetCommitResponse.OffsetCommitResponsePartition()]
        var response = OffsetCommitResponse()
        response.topics = [topic]
        return response
    }

    static let adminTopic = "spool-capture-admin"
    static let adminTopicId = KafkaUUID(high: 0x5370_6F6F_6C00_4000, low: 0x8000_0000_0000_0002)

    static func createTopics(version: Int16) -> CreateTopicsResponse {
        var result = CreateTopicsResponse.CreatableTopicResult()
        result.name = adminTopic
        result.topicId = version >= 7 ? adminTopicId : .zero
        result.errorMessage = version >= 1 ? nil : ""  // v0 has no message (its default is "")
        if version >= 5 {
            result.numPartitions = 1
            result.replicationFactor = 1
            result.configs = []
        }
        var response = CreateTopicsResponse()
        response.topics = [result]
        return response
    }

    static func deleteTopics(version: Int16) -> DeleteTopicsResponse {
        var result = DeleteTopicsResponse.DeletableTopicResult()
        result.name = adminTopic
        result.topicId = version >= 6 ? adminTopicId : .zero
        var response = DeleteTopicsResponse()
        response.responses = [result]
        return response
    }

    static func listGroups(version: Int16) -> ListGroupsResponse {
        var group = ListGroupsResponse.ListedGroup()
        group.groupId = Self.group
        group.protocolType = "consumer"
        if version >= 4 { group.groupState = "Stable" }
        if version >= 5 { group.groupType = "classic" }
        var response = ListGroupsResponse()
        response.groups = [group]
        return response
    }

    /// ConsumerProtocolSubscription v0 (classic encoding): the topic, null user data.
    static let subscription: [UInt8] = [0, 0, 0, 0, 0, 1, 0, 13] + Array(topic.utf8) + [0xFF, 0xFF, 0xFF, 0xFF]

    /// One stable group with one member holding partition 0.
    static func describeGroups() -> DescribeGroupsResponse {
        var member = DescribeGroupsResponse.DescribedGroupMember()
        member.memberId = memberId
        member.clientId = "spool-capture-librdkafka"
        member.clientHost = "/127.0.0.1"
        member.memberMetadata = subscription
        member.memberAssignment = assignment
        var described = DescribeGroupsResponse.DescribedGroup()
        described.groupId = group
        described.groupState = "Stable"
        described.protocolType = "consumer"
        described.protocolData = assignor
        described.members = [member]
        var response = DescribeGroupsResponse()
        response.groups = [described]
        return response
    }

    /// Member epoch 1 with partition 0 of the topic; the member keeps the id it chose (null here).
    static func shareGroupHeartbeat() -> ShareGroupHeartbeatResponse {
        var partitions = ShareGroupHeartbeatResponse.TopicPartitions()
        partitions.topicId = topicId
        partitions.partitions = [0]
        var assignment = ShareGroupHeartbeatResponse.Assignment()
        assignment.topicPartitions = [partitions]
        var response = ShareGroupHeartbeatResponse()
        response.memberEpoch = 1
        response.heartbeatIntervalMs = 5000
        response.assignment = assignment
        return response
    }

    /// The canned batch (offsets 0-1), acquired for the first time, locked for 30 s.
    static func shareFetch(version: Int16) throws -> ShareFetchResponse {
        var acquired = ShareFetchResponse.AcquiredRecords()
        acquired.firstOffset = 0
        acquired.lastOffset = 1
        acquired.deliveryCount = 1
        var partition = ShareFetchResponse.PartitionData()
        partition.currentLeader.leaderId = 0
        partition.currentLeader.leaderEpoch = 0
        partition.records = try records()
        partition.acquiredRecords = [acquired]
        var topic = ShareFetchResponse.ShareFetchableTopicResponse()
        topic.topicId = topicId
        topic.partitions = [partition]
        var response = ShareFetchResponse()
        if version >= 1 { response.acquisitionLockTimeoutMs = 30_000 }
        response.responses = [topic]
        return response
    }

    static func shareAcknowledge() -> ShareAcknowledgeResponse {
        var partition = ShareAcknowledgeResponse.PartitionData()
        partition.currentLeader.leaderId = 0
        partition.currentLeader.leaderEpoch = 0
        var topic = ShareAcknowledgeResponse.ShareAcknowledgeTopicResponse()
        topic.topicId = topicId
        topic.partitions = [partition]
        var response = ShareAcknowledgeResponse()
        response.responses = [topic]
        return response
    }

    /// The file's bytes: the whole frame, size prefix included, with the placeholder correlation id.
    static func frame(_ body: KafkaResponseBody, version: Int16) throws -> [UInt8] {
        try KafkaResponse(correlationId: correlationPlaceholder, body: body).encodedFrame(version: version)
    }
}
