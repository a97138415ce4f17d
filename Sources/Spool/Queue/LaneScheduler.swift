import SpoolFormat

/// Weighted fair claiming across priority lanes ("resource groups": filesystem, network, ...),
/// with a concurrency limit per lane, so that a flood in one lane cannot starve another.
///
/// A claim reads ahead up to `lookaheadMax` records into one buffer per lane (the lane is the
/// task's `spool.lane` header; none is lane ""), then hands out tasks by deficit round robin:
/// each turn a lane may take as many tasks as its weight, while it is under its in-flight limit.
/// A value type; ``ConsumerGroup`` keeps it behind its mutex.
struct LaneScheduler: Sendable {
    private struct Buffer: Sendable {
        var records: [Record] = []
        var head = 0
        var isEmpty: Bool { head >= records.count }
        mutating func popFirst() -> Record? {
            guard !isEmpty else { return nil }
            defer {
                head += 1
                if head > 1024 && head * 2 > records.count {
                    records.removeFirst(head)
                    head = 0
                }
            }
            return records[head]
        }
    }

    let lanes: [String: LaneOptions]
    private var buffers: [String: Buffer] = [:]
    /// Lanes in the order they first had tasks: the round-robin order.
    private var order: [String] = []
    private var deficits: [String: Int] = [:]
    private var inFlight: [String: Int] = [:]
    private(set) var buffered = 0

    init(lanes: [String: LaneOptions]) {
        self.lanes = lanes
    }

    static func lane(of headers: [RecordHeader]) -> String {
        guard let value = headers.first(where: { $0.name == TaskHeaders.laneName })?.value else { return "" }
        return String(decoding: value.prefix(LaneOptions.nameBytesMax), as: UTF8.self)
    }

    /// Distinct lanes tracked at most; tasks of further unknown lanes share the default lane.
    static let lanesMax = 1024

    mutating func add(_ record: Record) {
        var lane = Self.lane(of: record.headers)
        if buffers[lane] == nil && order.count >= Self.lanesMax && lanes[lane] == nil { lane = "" }
        if buffers[lane] == nil { order.append(lane) }
        buffers[lane, default: Buffer()].records.append(record)
        buffered += 1
    }

    func hasRoom(_ lane: String) -> Bool {
        (inFlight[lane] ?? 0) < (lanes[lane]?.concurrencyMax ?? Int.max)
    }

    /// Counts are kept only when lanes are configured (the FIFO path needs none).
    mutating func started(_ lane: String) {
        guard !lanes.isEmpty else { return }
        inFlight[lane, default: 0] += 1
    }

    mutating func finished(_ lane: String) {
        guard !lanes.isEmpty, let n = inFlight[lane] else { return }
        inFlight[lane] = n > 1 ? n - 1 : nil
    }

    /// Up to `room` buffered records by weighted round robin, skipping those `skip` rejects
    /// (acked or failed since they were read ahead). Bounded: every turn takes a record or
    /// leaves a lane out.
    mutating func pick(room: Int, skip: (Record) -> Bool) -> [(Record, String)] {
        var picked: [(Record, String)] = []
        var progress = true
        while picked.count < room && progress {
            progress = false
            for lane in order where picked.count < room {
                guard var buffer = buffers[lane], !buffer.isEmpty, hasRoom(lane) else { continue }
                deficits[lane, default: 0] += lanes[lane]?.weight ?? 1
                while deficits[lane, default: 0] > 0 && picked.count < room && hasRoom(lane),
                    let record = buffer.popFirst()
                {
                    buffered -= 1
                    if skip(record) { continue }
                    picked.append((record, lane))
                    started(lane)
                    deficits[lane, default: 0] -= 1
                    progress = true
                }
                if buffer.isEmpty { deficits[lane] = 0 }
                buffers[lane] = buffer
            }
        }
        return picked
    }
}

/// How a priority lane shares claims: its weight against the other lanes, and how many of its
/// tasks may be in flight at once.
public struct LaneOptions: Sendable, Equatable {
    static let nameBytesMax = 64
    /// Tasks this lane may take per round, against the other lanes' weights. 1...1000.
    public var weight: Int
    /// Tasks of this lane leased at once; nil for no limit beyond the group's.
    public var concurrencyMax: Int?

    public init(weight: Int = 1, concurrencyMax: Int? = nil) {
        self.weight = weight
        self.concurrencyMax = concurrencyMax
    }
}
