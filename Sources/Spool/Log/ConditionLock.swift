import Glibc

/// A pthread mutex with one condition variable: the writer thread sleeps on it when nothing
/// waits, and producers signal it. Swift's `Mutex` has no condition variable, and the writer
/// must block a real thread (never a cooperative-pool thread) while it waits and syncs.
///
/// Thread-safe.
final class ConditionLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits for a signal (the lock must be held). With `deadline` (CLOCK_MONOTONIC
    /// nanoseconds), returns at the deadline at the latest.
    func wait(until deadline: UInt64? = nil) {
        if let deadline {
            var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
            pthread_cond_timedwait(condition, mutex, &ts)
        } else {
            pthread_cond_wait(condition, mutex)
        }
    }

    func signal() { pthread_cond_signal(condition) }
    func broadcast() { pthread_cond_broadcast(condition) }
}

/// Starts a detached-free pthread running `body`; `join()` waits for it.
final class OSThread: @unchecked Sendable {
    private var handle = pthread_t()
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let rc = pthread_create(
            &handle, nil,
            { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                box.body()
                return nil
            }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }

    func join() {
        pthread_join(handle, nil)
    }

    /// Whether the caller runs on this thread (a thread must not join itself).
    var isCurrent: Bool { pthread_equal(handle, pthread_self()) != 0 }

    /// Lets the thread end on its own, for the one case where it cannot be joined: itself.
    func detach() {
        pthread_detach(handle)
    }
}
