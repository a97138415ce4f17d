/// A fault `spool drill` can inject (DRILLS.md).
enum DrillFault: String, CaseIterable {
    case kill, powercut, bitflip, truncate, zero, garbage
    /// Symlinks to outside files and directories, and FIFOs, planted where a root keeps files.
    case plant
    /// A group's checkpoint or log damaged (deleted, truncated, a bit flipped).
    case groupstate

    /// The byte mutation of a corruption fault; nil for the others.
    var mutation: DrillCorruptor.Mutation? { DrillCorruptor.Mutation(rawValue: rawValue) }

    /// Whether the fault damages a checked root (which then needs sealed segments to aim at).
    var damagesRoot: Bool { mutation != nil || self == .plant || self == .groupstate }

    /// Parses "kill,powercut" or "all". Throws a message naming the bad fault.
    static func parseList(_ text: String) throws -> [DrillFault] {
        if text == "all" { return allCases }
        var faults: [DrillFault] = []
        for name in text.split(separator: ",").map({ String($0).trimmingCharacters(in: " ") }) {
            if name == "compact" {
                throw DrillUsageError("the compact fault needs the compactor, which this build does not have yet")
            }
            guard let fault = DrillFault(rawValue: name) else {
                throw DrillUsageError(
                    "unknown fault \"\(name)\": choose from \(allCases.map(\.rawValue).joined(separator: ", ")) or all")
            }
            if !faults.contains(fault) { faults.append(fault) }
        }
        guard !faults.isEmpty else { throw DrillUsageError("--faults is empty") }
        return faults
    }
}

struct DrillUsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
