import Glibc

/// Tells whether a process holds the writer lock of a root (`spool.lock`), without touching the
/// lock: taking it, even shared and for an instant, would make a writer starting at that
/// moment fail with `.locked`. Reads the kernel's table of locks in `/proc/locks` (Linux) and
/// looks for a FLOCK on the lock file's inode.
///
/// Stateless; thread-safe.
public enum WriterLockProbe {
    /// Whether a process holds an flock on `<root>/spool.lock`; false when there is no such
    /// file or `/proc/locks` cannot be read (the probe then knows nothing).
    public static func isHeld(root: String) -> Bool {
        var info = stat()
        guard stat(root + "/spool.lock", &info) == 0 else { return false }
        let inode = UInt64(info.st_ino)
        guard let file = fopen("/proc/locks", "r") else { return false }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 512)
        var lines = 0
        while lines < 1_000_000, fgets(&line, Int32(line.count), file) != nil {
            lines += 1
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let fields = text.split(separator: " ", omittingEmptySubsequences: true)
            // "1: FLOCK  ADVISORY  WRITE 1234 08:01:567890 0 EOF" (a "->" marks a waiter).
            guard fields.count >= 6, fields[1] == "FLOCK", !fields.contains("->") else { continue }
            if let device = fields.first(where: { $0.split(separator: ":").count == 3 }),
                let last = device.split(separator: ":").last, UInt64(last) == inode
            {
                return true
            }
        }
        return false
    }
}
