import Glibc
import Spool
import SpoolTesting

/// How `spool drill` steers the `spool` child processes it starts: through the environment,
/// so that no user-visible flag exists for it. The shipped `Spool` library reads no
/// environment: the child installs the power-cut file system itself, through
/// `SpoolOptions.fileSystem`.
enum DrillEnvironment {
    /// Names the undo journal of a `spool` child run by `spool drill` under `powercut`.
    static let powerCutJournalVariable = "SPOOL_DRILL_POWERCUT_JOURNAL"

    /// When ``powerCutJournalVariable`` names a file, the command's root goes through a
    /// `PowerCutFileSystem` (SpoolTesting) that keeps its undo journal there.
    /// - Throws: ``SpoolError`` when the journal cannot be opened.
    static func apply(to options: inout SpoolOptions) throws {
        guard let value = getenv(powerCutJournalVariable), value.pointee != 0 else { return }
        options.fileSystem = try PowerCutFileSystem(wrapping: options.fileSystem, journalPath: String(cString: value))
    }
}
