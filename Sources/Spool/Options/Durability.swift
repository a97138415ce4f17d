/// When an enqueue may return, and so what a crash can lose (README, "Durability").
public enum Durability: Sendable, Equatable, CustomStringConvertible {
    /// No enqueue returns before an `fdatasync` covering its bytes has returned. Survives
    /// SIGKILL and power loss. Group commit shares one sync among everything waiting.
    case always
    /// Enqueue returns once the bytes are written to the page cache; the writer syncs at most
    /// `milliseconds` later. SIGKILL loses nothing; a power cut loses up to that window.
    case interval(milliseconds: Int)
    /// Enqueue returns once written to the page cache; syncs happen only when a segment is
    /// sealed and on close. SIGKILL loses nothing; a power cut can lose everything unsealed.
    case never

    public var description: String {
        switch self {
        case .always: return "always"
        case .interval(let ms): return "interval:\(ms)"
        case .never: return "never"
        }
    }

    /// Parses "always", "never" or "interval:MS".
    public init?(parsing text: String) {
        switch text {
        case "always": self = .always
        case "never": self = .never
        default:
            guard text.hasPrefix("interval:"), let ms = Int(text.dropFirst("interval:".count)), ms > 0 else {
                return nil
            }
            self = .interval(milliseconds: ms)
        }
    }
}
