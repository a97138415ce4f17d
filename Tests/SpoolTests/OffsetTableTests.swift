@testable import Spool
import Testing

/// ``OffsetTable`` replaces a `Dictionary` for a group's leases and in-flight acks: after any
/// sequence of inserts, overwrites and removals it must hold exactly what a dictionary holds,
/// iterate it in increasing offset order, and count it alike.
@Suite("offset table")
struct OffsetTableTests {
    private func expectAgrees(_ table: OffsetTable<Int>, _ model: [Int64: Int], step: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(table.count == model.count, "step \(step)", sourceLocation: sourceLocation)
        let pairs = table.map { ($0.key, $0.value) }
        #expect(pairs.map(\.0) == model.keys.sorted(), "step \(step)", sourceLocation: sourceLocation)
        #expect(pairs.map(\.1) == model.keys.sorted().map { model[$0]! }, "step \(step)", sourceLocation: sourceLocation)
    }

    @Test("random inserts, overwrites and removals in any order agree with a dictionary after every step")
    func randomOperationsMatchDictionary() {
        for seed in UInt64(1)...20 {
            var random = SplitMix64(seed: seed)
            var table = OffsetTable<Int>()
            var model: [Int64: Int] = [:]
            var next: Int64 = 0
            for step in 0..<3000 {
                let choice = random.next() % 10
                if choice < 4 {
                    // A claim: the next offsets in order.
                    table[next] = step
                    model[next] = step
                    next += 1
                } else if choice < 6 {
                    // A redelivery or a scattered offset: anywhere, possibly present already.
                    let offset = Int64(random.next() % UInt64(next + 10))
                    table[offset] = step
                    model[offset] = step
                } else {
                    // An ack: mostly the oldest, sometimes any offset, sometimes one never there.
                    let offset = random.next() % 3 == 0 ? Int64(random.next() % UInt64(next + 10)) : (model.keys.min() ?? 0)
                    #expect(table.removeValue(forKey: offset) == model.removeValue(forKey: offset), "step \(step)")
                }
                for _ in 0..<4 {
                    let probe = Int64(random.next() % UInt64(next + 12)) - 1
                    #expect(table[probe] == model[probe], "seed \(seed) step \(step) offset \(probe)")
                }
                if step % 50 == 0 { expectAgrees(table, model, step: step) }
            }
            expectAgrees(table, model, step: -1)
        }
    }

    @Test("a long FIFO of leases and acks keeps its storage bounded by the live offsets")
    func fifoUseCompactsHoles() {
        var table = OffsetTable<Int>()
        // One old lease stays while 100,000 others come and go behind it.
        table[0] = 0
        for offset in Int64(1)...100_000 {
            table[offset] = Int(offset)
            if offset > 10 { #expect(table.removeValue(forKey: offset - 10) == Int(offset - 10)) }
        }
        #expect(table.count == 11)
        #expect(table.storedSlots <= 2 * table.count + OffsetTable<Int>.holesAllowed + 1)
        #expect(table[0] == 0)
        #expect(table.map(\.key) == [0] + Array(99_991...100_000))
    }

    @Test("an offset set inserted below its first offset and in the middle answers contains for each")
    func offsetSetOutOfOrder() {
        var set = OffsetSet()
        for offset in [Int64(50), 60, 40, 55, 10] { set.insert(offset) }
        #expect(set.count == 5)
        #expect([10, 40, 50, 55, 60].allSatisfy { set.contains($0) })
        #expect(![0, 11, 45, 56, 61].contains { set.contains(Int64($0)) })
        set.remove(10)
        set.remove(55)
        #expect(set.count == 3 && !set.contains(10) && !set.contains(55) && set.contains(40))
    }
}
