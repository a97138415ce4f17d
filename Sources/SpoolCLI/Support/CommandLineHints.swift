import Spool
import SpoolFormat

/// The engine's errors name library remedies (`corruptionPolicy .salvage`, `FormatLimits`,
/// `SpoolOptions.limits`, a root's directory, `Repairer.acceptGaps`) that a user of the `spool`
/// command cannot reach, and never the command's flags (the style test checks that). This maps
/// them to the command's own flags and remedies before an error is printed.
///
/// Stateless; thread-safe.
enum CommandLineHints {
    /// The default record limit in MiB, as the command states it.
    static let recordMiB = FormatLimits.default.recordBytesMax >> 20

    /// Library phrases and what the `spool` command says instead, applied in order.
    static let replacements: [(String, String)] = [
        (
            "open with corruptionPolicy .salvage to continue past the gap",
            "accept the loss with `spool repair --accept-gap` to continue past the gap"
        ),
        (
            "open with corruptionPolicy .salvage to continue from what is left",
            "run `spool repair` to continue from what is left"
        ),
        (
            "open with corruptionPolicy .salvage to cut the log there",
            "run `spool repair` to cut the log there"
        ),
        (
            "raise FormatLimits if the data is legitimate, otherwise it is corrupt or hostile",
            "the spool command reads with the default limits (records up to \(recordMiB) MiB); larger data is corrupt, hostile, or written by a program with raised limits"
        ),
        (
            "split the payload or raise SpoolOptions.limits",
            "split the payload: the spool command writes records of at most \(recordMiB) MiB"
        ),
        ("create it, or open the root at the right directory", "create it, or pass the right --dir"),
        ("open the root at a directory", "point --dir (or SPOOL_DIR) at a directory"),
        ("open the root itself, ", "pass the root itself: --dir "),
        (
            "check the root directory and the queue name; SpoolRoot.queueNames() lists the queues",
            "check --dir and --queue; `spool stats` lists the queues"
        ),
        ("check the path of the root", "check the path, or pass --dir"),
        ("follow a queue's directory, not the root", "pass a queue: --queue NAME"),
        ("a Repairer whose acceptGaps is true", "`spool repair --accept-gap`"),
        (
            "open with limits at least as large as the ones the log was written with",
            "the spool command reads with the default limits; this log was written by a program with larger ones, so read it with that program"
        ),
    ]

    /// `error` with its message and hint in the command's terms.
    static func forCommandLine(_ error: SpoolError) -> SpoolError {
        var mapped = error
        mapped.message = forCommandLine(error.message)
        mapped.hint = error.hint.map(forCommandLine)
        return mapped
    }

    /// A finding's or note's text (verify, repair) in the command's terms.
    static func forCommandLine(_ text: String) -> String {
        replacements.reduce(text) { text, pair in text.replacingAll(pair.0, with: pair.1) }
    }
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        // Bounded by the string's length: each step consumes at least one character.
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
