import Synchronization

/// One child-process launch at a time in a test process. swift-corelibs-foundation's
/// `Process.run` crashed (SIGSEGV in memcpy) when many tests launched children at once; each
/// test target launches through this, so all launches of the one test binary are serialized.
/// Waiting for the children still runs in parallel. Thread-safe.
public enum ProcessLaunchLock {
    private static let lock = Mutex<Void>(())

    /// Runs `launch` (a `Process.run()`) while no other launch runs.
    /// - Throws: what `launch` throws.
    public static func withLock<T>(_ launch: () throws -> T) rethrows -> T {
        try lock.withLock { _ in try launch() }
    }
}
