import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// Issue 14, "Unclear errors": each error says what actually went wrong.
@Suite("clear errors")
struct UnclearErrorTests {
    @Test("an append on a read-only file system (EROFS) is reported as a read-only file system, not as permissions")
    func readOnlyFileSystemIsReportedAsSuch() async throws {
        try await withTemporaryDirectory { dir in
            var plan = FaultInjectingFileSystem.Plan()
            plan.writeBudgetBytes = 0
            plan.writeSuffix = ".log"
            plan.writeErrno = EROFS
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.fileSystem = FaultInjectingFileSystem(plan: plan) })
            defer { root.close() }
            let log = try root.queue("q")
            let error = await #expect(throws: SpoolError.self) { try await log.append(Array("x".utf8)) }
            #expect(error?.errno == EROFS)
            #expect(error?.message.contains("read-only file system") == true, "\(String(describing: error))")
            #expect(error?.message.contains("permission denied") == false)
            #expect(error?.hint?.contains("remount") == true)
        }
    }
}
