import Spool
import SpoolTesting

/// What one fault's cycles found, for the report.
struct DrillStats {
    var fault: DrillFault
    var cycles = 0
    var kills = 0
    var acknowledgedEnqueues = 0
    var acknowledgedAcks = 0
    var lost = 0
    var redelivered = 0
    var phantoms = 0
    var offsetProblems = 0
    var recoveryFailures = 0
    var injected = 0
    var syncedInjected = 0
    /// Synced-data damage reported by an error that names the file and a position or offset.
    var detected = 0
    /// Synced-data damage reported by an error without a position or offset.
    var detectedWithoutPosition = 0
    /// Synced-data damage that neither failed the open or a read nor changed what was read.
    var undetectedHarmless: [String] = []
    /// Damage to derived or unsynced data (indexes, recovery points, appended bytes): dealt with
    /// (rebuilt, ignored, cut as a torn tail) with no task lost, or reported.
    var handled = 0
    /// plant and groupstate: injections the reopen refused with an error naming a file.
    var refused = 0
    /// Per target file kind: corruptions injected, and how many an error reported.
    var targets: [String: TargetCount] = [:]
    struct TargetCount {
        var injected = 0
        var reported = 0
    }
    var recoverySeconds: [Double] = []
    var powerCut = PowerCut.Outcome()
    var violations: [String] = []

    func percentile(_ p: Double) -> Double? {
        guard !recoverySeconds.isEmpty else { return nil }
        let sorted = recoverySeconds.sorted()
        let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
        return sorted[max(0, min(sorted.count - 1, rank))]
    }

    mutating func add(_ outcome: PowerCut.Outcome) {
        powerCut.records += outcome.records
        powerCut.writesUndone += outcome.writesUndone
        powerCut.truncatesUndone += outcome.truncatesUndone
        powerCut.tornWrites += outcome.tornWrites
        powerCut.bytesKeptByTears += outcome.bytesKeptByTears
        powerCut.entriesUndone += outcome.entriesUndone
        powerCut.entriesKept += outcome.entriesKept
        powerCut.notRestorable += outcome.notRestorable
    }
}
