import Foundation
import Spool
@testable import SpoolCLI
import Testing

@Suite("progress bar")
struct ProgressBarTests {
    /// What a bar draws into a file (as it would on a terminal).
    static func drawn(enabled: Bool, _ updates: [VerifyProgress]) throws -> String {
        let dir = ScratchDirectory()
        let path = dir.path + "/bar"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        let bar = ProgressBar(enabled: enabled, fd: fd)
        for update in updates { bar.update(update) }
        bar.finish()
        close(fd)
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    @Test("on a terminal the bar shows the share done and the file, then clears its line; disabled it draws nothing")
    func draws() throws {
        let done = VerifyProgress(bytesDone: 2 << 30, bytesTotal: 2 << 30, file: "/r/queues/q/00000000000000000000.log")
        let text = try Self.drawn(enabled: true, [done])
        #expect(text.contains("[##############################] 100%  2.0 GiB / 2.0 GiB  q/00000000000000000000.log"))
        #expect(text.hasPrefix("\r") && text.hasSuffix("\r\u{1B}[K"))
        #expect(try Self.drawn(enabled: false, [done]).isEmpty)
        let half = try Self.drawn(enabled: true, [VerifyProgress(bytesDone: 1 << 20, bytesTotal: 2 << 20, file: "x.log")])
        #expect(half.contains("[###############---------------] 50%"))
    }
}
