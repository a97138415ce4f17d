import Glibc
import Spool

/// How `spool drill` steers the `spool` child processes it starts: through the environment,
/// so that no user-visible flag exists for it.
enum DrillEnvironment {
    /// When ``PowerCutFileSystem/environmentVariable`` names a file, the command's root goes
    /// through a ``PowerCutFileSystem`` that keeps its undo journal there.
    /// - Throws: ``SpoolError`` when the journal cannot be opened.
    static func apply(to options: inout SpoolOptions) throws {
        guard let value = getenv(PowerCutFileSystem.environmentVariable), value.pointee != 0 else { return }
        options.fileSystem = try PowerCutFileSystem(wrapping: options.fileSystem, journalPath: String(cString: value))
    }
}
