/// A map from queue offsets to values for a consumer group's leases and its acks on their way
/// to disk: a sorted array searched by bisection instead of a hash table.
///
/// Why: a claim+ack of 100 tasks looked each offset up, inserted and removed it about nine
/// times in `Dictionary`/`Set`, and SipHash with the table's probing was the largest single
/// cost of W4's claim+ack loop under callgrind (BENCHMARKS.md, "W4, recovery and W9 on a
/// shared machine"). Claims lease offsets in increasing order and acks end them roughly in
/// that order, so here an insert past the last key is an append, a removal leaves a hole that
/// the front skips, and a lookup compares with the ends before it bisects.
///
/// Costs: lookup O(log n); insert O(1) past the last key or just below the first, O(n)
/// elsewhere (a redelivery of an old offset, or offsets inserted out of order: callers insert
/// large sets sorted); removal O(1) amortized, holes are dropped once they outnumber live keys.
///
/// Not thread-safe: a value type kept inside the group's `Mutex`.
struct OffsetTable<Value> {
    /// Keys in increasing order from `head`; slots below `head` are unused.
    private var keys: [Int64] = []
    /// `nil` marks a removed key (a hole) until the next compaction.
    private var slots: [Value?] = []
    private var head = 0
    /// Live keys.
    private(set) var count = 0

    init() {}

    var isEmpty: Bool { count == 0 }

    subscript(offset: Int64) -> Value? {
        get { index(of: offset).flatMap { slots[$0] } }
        set {
            if let newValue { insert(newValue, at: offset) } else { removeValue(forKey: offset) }
        }
    }

    /// The values in increasing offset order.
    var values: [Value] { map(\.value) }

    /// Removes `offset` and returns its value; nil when it is not there.
    @discardableResult
    mutating func removeValue(forKey offset: Int64) -> Value? {
        guard let i = index(of: offset), let old = slots[i] else { return nil }
        slots[i] = nil
        count -= 1
        // Bounded: each pass moves past one hole.
        while head < keys.count && slots[head] == nil { head += 1 }
        if count == 0 {
            keys.removeAll(keepingCapacity: true)
            slots.removeAll(keepingCapacity: true)
            head = 0
        } else if keys.count - head > 2 * count + Self.holesAllowed {
            compact()
        }
        return old
    }

    /// Slots in storage, live or holes (tests check that holes do not pile up).
    var storedSlots: Int { keys.count - head }

    /// Holes tolerated beyond twice the live keys before a compaction.
    static var holesAllowed: Int { 64 }

    private mutating func insert(_ value: Value, at offset: Int64) {
        if let i = index(of: offset) {
            if slots[i] == nil { count += 1 }
            slots[i] = value
            return
        }
        count += 1
        if head == keys.count || offset > keys[keys.count - 1] {
            keys.append(offset)
            slots.append(value)
        } else if offset < keys[head] && head > 0 {
            head -= 1
            keys[head] = offset
            slots[head] = value
        } else {
            let at = lowerBound(offset)
            keys.insert(offset, at: at)
            slots.insert(value, at: at)
        }
    }

    /// Drops the holes and the unused front.
    private mutating func compact() {
        var newKeys: [Int64] = []
        var newSlots: [Value?] = []
        newKeys.reserveCapacity(count)
        newSlots.reserveCapacity(count)
        for i in head..<keys.count where slots[i] != nil {
            newKeys.append(keys[i])
            newSlots.append(slots[i])
        }
        keys = newKeys
        slots = newSlots
        head = 0
    }

    /// The slot holding `offset` (live or a hole), if any.
    private func index(of offset: Int64) -> Int? {
        guard head < keys.count else { return nil }
        // The ends first: claims add at the back, acks end leases at the front.
        if offset == keys[head] { return head }
        let last = keys.count - 1
        if offset == keys[last] { return last }
        if offset > keys[last] || offset < keys[head] { return nil }
        let i = lowerBound(offset)
        return i < keys.count && keys[i] == offset ? i : nil
    }

    /// The first index at or after `head` whose key is not below `offset`.
    private func lowerBound(_ offset: Int64) -> Int {
        var low = head
        var high = keys.count
        // Bounded: the range halves each pass.
        while low < high {
            let middle = (low + high) / 2
            if keys[middle] < offset { low = middle + 1 } else { high = middle }
        }
        return low
    }

    struct Iterator: IteratorProtocol {
        fileprivate let table: OffsetTable
        fileprivate var i: Int

        mutating func next() -> (key: Int64, value: Value)? {
            // Bounded: each pass moves one slot on.
            while i < table.keys.count {
                defer { i += 1 }
                if let value = table.slots[i] { return (table.keys[i], value) }
            }
            return nil
        }
    }

    func makeIterator() -> Iterator { Iterator(table: self, i: head) }
}

/// A set of offsets on ``OffsetTable`` (a group's acks on their way to disk).
struct OffsetSet: Sendable {
    private var table = OffsetTable<Bool>()

    var count: Int { table.count }
    var isEmpty: Bool { table.isEmpty }

    func contains(_ offset: Int64) -> Bool { table[offset] != nil }

    mutating func insert(_ offset: Int64) { table[offset] = true }

    mutating func remove(_ offset: Int64) { table.removeValue(forKey: offset) }
}

extension OffsetTable: Sequence {}
extension OffsetTable: Sendable where Value: Sendable {}
