import Glibc
import Spool
import Synchronization

/// A one-line progress bar on standard error, redrawn at most ten times a second; nothing
/// when disabled (standard error is not a terminal, or --json). Thread-safe: the compactor
/// reports progress from its own thread.
final class ProgressBar: Sendable {
    private let enabled: Bool
    private let fd: Int32
    /// When it last drew, and whether it drew at all.
    private let state = Mutex<(lastDraw: UInt64, drawn: Bool)>((0, false))

    /// - Parameter fd: where to draw; standard error unless a test passes a file.
    init(enabled: Bool, fd: Int32 = 2) {
        self.enabled = enabled
        self.fd = fd
    }

    func update(_ progress: VerifyProgress) {
        let name = progress.file.split(separator: "/").suffix(2).joined(separator: "/")
        update(done: progress.bytesDone, total: progress.bytesTotal, label: name)
    }

    /// Draws `done` of `total` bytes with a label, unless it drew less than 100 ms ago (the
    /// last update, done == total, always draws).
    func update(done: Int64, total: Int64, label: String) {
        guard enabled else { return }
        let now = SystemClock().monotonicNanoseconds()
        let due = state.withLock { state -> Bool in
            guard now &- state.lastDraw >= 100_000_000 || done >= total else { return false }
            state = (now, true)
            return true
        }
        guard due else { return }
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        write(
            "\r[\(bar)] \(JSONLine.fixed(fraction * 100, decimals: 0))%  \(Human.bytes(done)) / \(Human.bytes(total))  \(label)\u{1B}[K"
        )
    }

    func finish() {
        if enabled && state.withLock({ $0.drawn }) { write("\r\u{1B}[K") }
    }

    private func write(_ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
    }
}
