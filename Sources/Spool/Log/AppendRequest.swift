import Glibc
import Synchronization

/// One producer's encoded batches, waiting for the writer. The producer encoded them (and
/// their CRCs) on its own thread; the writer only stamps base offsets, which the CRC does not
/// cover (FORMAT.md, "Batch header"), and writes them.
struct AppendRequest {
    var bytes: [UInt8]
    /// Told the offset of the request's first record once its durability holds, or the error.
    let completion: Completion

    /// How the producer waits: an async task's continuation, or a thread blocked in a
    /// ``BlockingWaiter``.
    enum Completion {
        case continuation(UnsafeContinuation<Int64, any Error>)
        case waiter(BlockingWaiter)

        func resume(returning offset: Int64) {
            switch self {
            case .continuation(let c): c.resume(returning: offset)
            case .waiter(let w): w.complete(.success(offset))
            }
        }

        func resume(throwing error: any Error) {
            switch self {
            case .continuation(let c): c.resume(throwing: error)
            case .waiter(let w): w.complete(.failure(error.asSpoolError))
            }
        }
    }
}

/// Where a producer thread waits for its append: it spins (yielding the CPU) for a bounded
/// time, because the sync it waits for takes about 100 µs and waking a parked thread costs a
/// good part of that on a virtual machine, then parks on a condition variable.
///
/// Thread-safe: one producer waits, the writer thread completes once.
final class BlockingWaiter: @unchecked Sendable {
    private let done = Atomic<Bool>(false)
    private let lock = ConditionLock()
    private var parked = false
    private var result: Result<Int64, SpoolError> = .success(0)

    /// Called once by the writer thread.
    func complete(_ result: Result<Int64, SpoolError>) {
        lock.withLock {
            self.result = result
            done.store(true, ordering: .releasing)
            if parked { lock.signal() }
        }
    }

    /// Blocks until completed. Spins with sched_yield for at most `spinNanoseconds` first.
    func wait(spinNanoseconds: UInt64, clock: any SpoolClock) throws -> Int64 {
        if spinNanoseconds > 0 {
            let deadline = clock.monotonicNanoseconds() + spinNanoseconds
            var rounds = 0
            while !done.load(ordering: .acquiring) {
                rounds += 1
                if rounds & 15 == 0 && clock.monotonicNanoseconds() >= deadline { break }
                sched_yield()
            }
        }
        return try lock.withLock {
            while !done.load(ordering: .acquiring) {
                parked = true
                lock.wait()
            }
            return try result.get()
        }
    }
}
