import Spool

/// Warnings on stderr for links, FIFOs and devices inside the paths `stats`, `dump` and `tail`
/// look at: they skip each (Spool never follows or reads one) and say so, worded as `verify`
/// reports it (``ForeignEntry/message(command:)``), then go on with the rest. A warning does
/// not change the exit code.
enum ForeignEntryWarnings {
    /// Prints one `spool: warning: PATH: MESSAGE` line per foreign entry under `path`.
    /// - Returns: how many were reported.
    @discardableResult
    static func report(under path: String, command: String) -> Int {
        let entries = SpoolLayout.foreignEntries(under: path)
        for entry in entries {
            Console.err("spool: warning: \(entry.path): \(entry.message(command: command))")
        }
        return entries.count
    }
}
