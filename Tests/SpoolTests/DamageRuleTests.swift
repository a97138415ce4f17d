@testable import Spool
import Testing

/// Issue 15: what a walk's finding means is one table (`DamageRule.rows`). Each row is a test
/// case here, named after it; the places are derived from the inputs recovery and verify pass,
/// so a change to how a place is recognised shows up here too. The end-to-end scenarios
/// (a torn tail cut at open, damage below the recovery point refused, an accepted gap read
/// past, a live writer's tail noted) are in RecoveryTests, CorruptionTests,
/// AcceptGapCommandTests and InspectTests.
@Suite("damage rule: one table decides end, torn tail, corruption, repair gap, in flight")
struct DamageRuleTests {
    /// The rule as the issue and FORMAT.md state it, written here by hand (not read from the
    /// table), one scenario per row of `DamageRule.rows`.
    struct Row: CustomTestStringConvertible, Sendable {
        let scenario: String
        let finding: DamageRule.Finding
        let place: DamageRule.Place?
        let verdict: DamageRule.Verdict
        var testDescription: String { scenario }
    }

    static let rows: [Row] = [
        Row(scenario: "zeros or an end marker after the last batch are the end of the data, wherever they are", finding: .cleanEnd, place: nil, verdict: .end),
        Row(scenario: "a gap that repair recorded is stepped over, wherever it is", finding: .acceptedGap, place: nil, verdict: .repairGap),
        Row(scenario: "bad bytes below the recovery point are corruption", finding: .badBytes, place: .synced, verdict: .corruption),
        Row(scenario: "bad bytes past the recovery point after a crash are a torn tail", finding: .badBytes, place: .unsyncedTail, verdict: .tornTail),
        Row(scenario: "bad bytes past the recovery point of a running writer are a write in flight", finding: .badBytes, place: .liveTail, verdict: .inFlight),
        Row(scenario: "bad bytes in a lone file with sound batches after them are corruption", finding: .badBytes, place: .looseFileMiddle, verdict: .corruption),
        Row(scenario: "bad bytes at the end of a lone file are a torn tail", finding: .badBytes, place: .looseFileEnd, verdict: .tornTail),
        Row(scenario: "an unrecorded offset gap between synced batches is corruption", finding: .offsetGap, place: .synced, verdict: .corruption),
        Row(scenario: "an offset gap past the recovery point after a crash is a torn tail", finding: .offsetGap, place: .unsyncedTail, verdict: .tornTail),
        Row(scenario: "an offset gap past the recovery point of a running writer is a write in flight", finding: .offsetGap, place: .liveTail, verdict: .inFlight),
        Row(scenario: "an offset gap in a lone file before sound batches is corruption", finding: .offsetGap, place: .looseFileMiddle, verdict: .corruption),
        Row(scenario: "an offset gap at the end of a lone file is a torn tail", finding: .offsetGap, place: .looseFileEnd, verdict: .tornTail),
        Row(scenario: "overlapping offsets between synced batches are corruption", finding: .offsetOverlap, place: .synced, verdict: .corruption),
        Row(scenario: "overlapping offsets past the recovery point after a crash are a torn tail", finding: .offsetOverlap, place: .unsyncedTail, verdict: .tornTail),
        Row(scenario: "overlapping offsets past the recovery point of a running writer are a write in flight", finding: .offsetOverlap, place: .liveTail, verdict: .inFlight),
        Row(scenario: "overlapping offsets in a lone file before sound batches are corruption", finding: .offsetOverlap, place: .looseFileMiddle, verdict: .corruption),
        Row(scenario: "overlapping offsets at the end of a lone file are a torn tail", finding: .offsetOverlap, place: .looseFileEnd, verdict: .tornTail),
    ]

    @Test("the table has exactly the rows stated here, no more")
    func tableMatchesTheStatedRule() {
        #expect(DamageRule.rows.count == Self.rows.count)
        for row in DamageRule.rows {
            #expect(Self.rows.contains { $0.finding == row.finding && $0.place == row.place && $0.verdict == row.verdict },
                    "unstated row: \(row.finding.rawValue) at \(row.place?.rawValue ?? "any place") is \(row.verdict.rawValue)")
        }
    }

    /// A position and what the caller knows of it, for each place.
    static func place(_ place: DamageRule.Place) -> DamageRule.Place {
        switch place {
        case .synced: return DamageRule.place(of: 10, tailStart: nil, live: false)
        case .unsyncedTail: return DamageRule.place(of: 10, tailStart: 5, live: false)
        case .liveTail: return DamageRule.place(of: 10, tailStart: 5, live: true)
        case .looseFileMiddle: return DamageRule.place(of: 10, tailStart: 0, live: false, looseFile: true, lastSoundEnd: 20)
        case .looseFileEnd: return DamageRule.place(of: 30, tailStart: 0, live: false, looseFile: true, lastSoundEnd: 20)
        }
    }

    @Test("row:", arguments: rows)
    func row(_ row: Row) {
        for place in row.place.map({ [$0] }) ?? DamageRule.Place.allCases {
            #expect(Self.place(place) == place, "the inputs for \(place.rawValue) are recognised as that place")
            #expect(DamageRule.verdict(row.finding, at: Self.place(place)) == row.verdict)
        }
    }

    @Test("every finding has a verdict at every place, and no finding has two rows for one place")
    func tableIsComplete() {
        for finding in DamageRule.Finding.allCases {
            #expect(DamageRule.rows.contains { $0.finding == finding }, "a row for \(finding.rawValue)")
            for place in DamageRule.Place.allCases {
                let exact = DamageRule.rows.filter { $0.finding == finding && $0.place == place }
                let general = DamageRule.rows.filter { $0.finding == finding && $0.place == nil }
                #expect(exact.count + general.count >= 1 && exact.count <= 1 && general.count <= 1,
                        "\(finding.rawValue) at \(place.rawValue): \(exact.count) exact and \(general.count) general rows")
            }
        }
    }

    @Test("damage just below the recovery point is synced, at it is the unsynced tail")
    func recoveryPointIsTheBoundary() {
        #expect(DamageRule.place(of: 99, tailStart: 100, live: false) == .synced)
        #expect(DamageRule.place(of: 100, tailStart: 100, live: false) == .unsyncedTail)
        #expect(DamageRule.verdict(.badBytes, at: DamageRule.place(of: 99, tailStart: 100, live: false)) == .corruption)
        #expect(DamageRule.verdict(.badBytes, at: DamageRule.place(of: 100, tailStart: 100, live: false)) == .tornTail)
    }

    @Test("a segment that starts where the last ended is no finding; a gap is accepted only when repair recorded it")
    func segmentStart() {
        #expect(DamageRule.segmentStart(10, expected: 10) { Issue.record("not asked when there is no gap"); return true } == nil)
        #expect(DamageRule.segmentStart(5, expected: 10) { Issue.record("not asked for an overlap"); return true } == .offsetOverlap)
        #expect(DamageRule.segmentStart(20, expected: 10) { true } == .acceptedGap)
        #expect(DamageRule.segmentStart(20, expected: 10) { false } == .offsetGap)
    }
}
