/// What a reader learned of Kafka transactions while looking ahead (FORMAT.md, "Control
/// batches and transactions"): for each producer, the first transaction marker after some
/// offset of it, and whether it committed. A producer has at most one transaction open at a
/// time, so every transactional batch of that producer from that offset up to the marker
/// belongs to that transaction.
///
/// Bounded: at most ``producersMax`` producers are remembered (forgetting one only costs a new
/// look-ahead). A value type owned by one reader; not shared between threads.
struct TransactionOutcomes: Sendable {
    enum Outcome: Sendable, Equatable {
        case committed, aborted, open
    }

    static let producersMax = 1024
    private var markers: [Int64: (from: Int64, offset: Int64, committed: Bool)] = [:]

    /// The outcome of a transactional batch at `batchOffset`, when the marker that ends it is known.
    func outcome(producerId: Int64, batchOffset: Int64) -> Outcome? {
        guard let marker = markers[producerId], marker.from <= batchOffset, batchOffset < marker.offset else {
            return nil
        }
        return marker.committed ? .committed : .aborted
    }

    /// Remembers that the first marker of `producerId` after `batchOffset` is at `markerOffset`,
    /// and returns the outcome it gives.
    mutating func record(producerId: Int64, batchOffset: Int64, markerOffset: Int64, committed: Bool) -> Outcome {
        if markers.count >= Self.producersMax && markers[producerId] == nil { markers.removeAll(keepingCapacity: true) }
        markers[producerId] = (batchOffset, markerOffset, committed)
        return committed ? .committed : .aborted
    }
}
