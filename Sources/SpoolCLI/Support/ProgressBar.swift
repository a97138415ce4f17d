import Glibc
import Spool

/// A one-line progress bar on standard error, redrawn at most ten times a second; nothing
/// when disabled (standard error is not a terminal, or --json).
final class ProgressBar {
    private let enabled: Bool
    private let fd: Int32
    private var lastDraw: UInt64 = 0
    private var drawn = false

    /// - Parameter fd: where to draw; standard error unless a test passes a file.
    init(enabled: Bool, fd: Int32 = 2) {
        self.enabled = enabled
        self.fd = fd
    }

    func update(_ progress: VerifyProgress) {
        guard enabled else { return }
        let now = SystemClock().monotonicNanoseconds()
        guard now - lastDraw >= 100_000_000 || progress.bytesDone >= progress.bytesTotal else { return }
        lastDraw = now
        let fraction = progress.bytesTotal > 0 ? min(1, Double(progress.bytesDone) / Double(progress.bytesTotal)) : 1
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let name = progress.file.split(separator: "/").suffix(2).joined(separator: "/")
        write("\r[\(bar)] \(JSONLine.fixed(fraction * 100, decimals: 0))%  \(Human.bytes(progress.bytesDone)) / \(Human.bytes(progress.bytesTotal))  \(name)\u{1B}[K")
        drawn = true
    }

    func finish() {
        if enabled && drawn { write("\r\u{1B}[K") }
    }

    private func write(_ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
    }
}
