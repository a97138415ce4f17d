import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// The simplest model of a group's acked set: one flag per offset of a small domain, with
/// everything below `start` acked. The engine's ``OffsetRanges`` must agree with it after every
/// insert, whatever order the acks come in.
private struct AckModel {
    let start: Int64
    var acked: [Bool]

    init(start: Int64, domain: Int) {
        self.start = start
        acked = [Bool](repeating: false, count: domain)
    }

    mutating func insert(_ range: Range<Int64>) {
        for o in range where o >= start && o < start + Int64(acked.count) { acked[Int(o - start)] = true }
    }

    func contains(_ offset: Int64) -> Bool {
        offset < start || (offset < start + Int64(acked.count) && acked[Int(offset - start)])
    }

    var watermark: Int64 {
        var w = start
        while w < start + Int64(acked.count) && acked[Int(w - start)] { w += 1 }
        return w
    }

    /// Maximal runs of acked offsets above the watermark.
    var ranges: [Range<Int64>] {
        var out: [Range<Int64>] = []
        var o = watermark
        let end = start + Int64(acked.count)
        while o < end {
            if acked[Int(o - start)] {
                let lower = o
                while o < end && acked[Int(o - start)] { o += 1 }
                out.append(lower..<o)
            } else {
                o += 1
            }
        }
        return out
    }
}

/// Checks every observable of `ranges` against `model`.
private func expectAgrees(_ ranges: OffsetRanges, _ model: AckModel, step: Int, sourceLocation: SourceLocation = #_sourceLocation) {
    let expected = model.ranges
    #expect(ranges.watermark == model.watermark, "step \(step)", sourceLocation: sourceLocation)
    #expect(ranges.ranges == expected, "step \(step)", sourceLocation: sourceLocation)
    #expect(ranges.rangeCount == expected.count, "step \(step)", sourceLocation: sourceLocation)
    #expect(ranges.ackedAboveWatermark == expected.reduce(0) { $0 + ($1.upperBound - $1.lowerBound) }, "step \(step)",
            sourceLocation: sourceLocation)
}

@Suite("offset ranges")
struct OffsetRangesTests {
    @Test("random ranges in random order agree with a per-offset model after every insert")
    func randomInsertsMatchModel() {
        for seed in UInt64(1)...20 {
            var random = SplitMix64(seed: seed)
            let start = Int64(random.next() % 50)
            let domain = 600
            var ranges = OffsetRanges(watermark: start)
            // The model covers every offset an insert can reach (lower + length < domain + 60).
            var model = AckModel(start: start, domain: domain + 100)
            for step in 0..<400 {
                // Mostly single offsets, sometimes runs, some reaching below the watermark.
                let lower = Int64(random.next() % UInt64(domain + 20))
                let length = random.next() % 4 == 0 ? Int64(random.next() % 40) + 1 : 1
                let range = lower..<(lower + length)
                ranges.insert(range)
                model.insert(range)
                expectAgrees(ranges, model, step: step)
                for _ in 0..<8 {
                    let probe = Int64(random.next() % UInt64(domain + 60))
                    #expect(ranges.contains(probe) == model.contains(probe), "seed \(seed) step \(step) offset \(probe)")
                }
            }
        }
    }

    @Test("every offset of a domain acked one by one in a shuffled order ends as one watermark, with the ranges right on the way")
    func shuffledSingleOffsetsCloseEveryGap() {
        var random = SplitMix64(seed: 19)
        let domain = 5_000
        var order = Array(Int64(0)..<Int64(domain))
        order.shuffle(using: &random)
        var ranges = OffsetRanges(watermark: 0)
        var model = AckModel(start: 0, domain: domain)
        for (step, offset) in order.enumerated() {
            ranges.insert(offset)
            model.insert(offset..<(offset + 1))
            if step % 97 == 0 { expectAgrees(ranges, model, step: step) }
        }
        #expect(model.watermark == Int64(domain))
        #expect(ranges.watermark == Int64(domain))
        #expect(ranges.ranges.isEmpty && ranges.rangeCount == 0 && ranges.ackedAboveWatermark == 0)
    }

    @Test("the same acks in two orders give equal values, and a window query clips to the window")
    func orderDoesNotMatterAndWindowsClip() {
        var random = SplitMix64(seed: 7)
        let acks: [Range<Int64>] = (0..<300).map { _ in
            let lower = Int64(random.next() % 2_000) + 10
            return lower..<(lower + Int64(random.next() % 5) + 1)
        }
        var forward = OffsetRanges(watermark: 10)
        for range in acks { forward.insert(range) }
        var backward = OffsetRanges(watermark: 10)
        for range in acks.reversed() { backward.insert(range) }
        #expect(forward == backward)
        var model = AckModel(start: 10, domain: 2_100)
        for range in acks { model.insert(range) }
        for window in [Int64(0)..<50, 500..<777, 1_000..<1_001, 1_990..<3_000, 0..<4_000] {
            let expected = model.ranges.compactMap { r -> Range<Int64>? in
                let clipped = max(r.lowerBound, window.lowerBound)..<max(min(r.upperBound, window.upperBound), max(r.lowerBound, window.lowerBound))
                return clipped.isEmpty ? nil : clipped
            }
            #expect(forward.ranges(overlapping: window) == expected, "window \(window)")
        }
        forward.insert(10..<2_200)
        #expect(forward.watermark == 2_200 && forward.rangeCount == 0)
        #expect(forward != backward)
    }

    @Test("acknowledge(offsets:) in scattered calls leaves the group's progress equal to the model's")
    func scatteredAcknowledgeThroughTheGroup() async throws {
        try await withTemporaryDirectory { path in
            let root = try openRoot(at: path + "/root", options: testOptions { $0.durability = .never })
            defer { root.close() }
            let log = try root.queue("q")
            let total = 3_000
            try await log.append(batch: (0..<total).map { RecordInput(value: Array("t\($0)".utf8), timestamp: 1) })
            let group = try root.group("g", on: "q")
            var random = SplitMix64(seed: 1919)
            var order = Array(Int64(0)..<Int64(total))
            order.shuffle(using: &random)
            var model = AckModel(start: 0, domain: total)
            var position = 0
            // Calls of 1 to 40 offsets each, in the shuffled order.
            while position < order.count {
                let count = min(Int(random.next() % 40) + 1, order.count - position)
                let chunk = Array(order[position..<(position + count)])
                let result = try await group.acknowledge(offsets: chunk)
                #expect(result.acked == count)
                for offset in chunk { model.insert(offset..<(offset + 1)) }
                let progress = group.progress
                let expectedAbove = model.ranges.reduce(0) { $0 + ($1.upperBound - $1.lowerBound) }
                #expect(progress.watermark == model.watermark && progress.ackedAboveWatermark == expectedAbove,
                        "after \(position + count) offsets")
                position += count
            }
            #expect(group.progress.watermark == Int64(total) && group.progress.lag == 0)
            // Acked before: counted as such, nothing written again.
            let again = try await group.acknowledge(offsets: [0, 1_500, 2_999])
            #expect(again.alreadyAcked == 3 && again.acked == 0)
        }
    }
}
