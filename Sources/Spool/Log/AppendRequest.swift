import Glibc
import SpoolFormat
import Synchronization

/// One producer's encoded batches, waiting for the writer. The producer encoded them (and
/// their CRCs) on its own thread; the writer only stamps base offsets, which the CRC does not
/// cover (FORMAT.md, "Batch header"), and writes them.
///
/// A lingering request (``SpoolOptions/lingerMicroseconds``) carries its records unencoded
/// instead: the writer compresses the records of several such requests as one batch.
struct AppendRequest {
    var bytes: [UInt8]
    /// Told the offset of the request's first record once its durability holds, or the error.
    let completion: Completion
    /// The records of a lingering request; nil when the producer encoded them into `bytes`.
    var records: [RecordInput]? = nil
    /// Bytes the request counts for in the writer's pending bound.
    var size: Int
    /// When it was queued (monotonic ns): a lingering request is written by `arrival + linger`.
    var arrival: UInt64 = 0

    init(bytes: [UInt8], completion: Completion) {
        self.bytes = bytes
        self.completion = completion
        self.size = bytes.count
    }

    init(lingering records: [RecordInput], size: Int, arrival: UInt64, completion: Completion) {
        self.bytes = []
        self.completion = completion
        self.records = records
        self.size = size
        self.arrival = arrival
    }

    /// How the producer waits: an async task's continuation, or a thread blocked in a
    /// ``BlockingWaiter``.
    enum Completion {
        case continuation(UnsafeContinuation<Int64, any Error>)
        case waiter(BlockingWaiter)
        /// Lingering requests the writer encoded as one batch: each is told the batch's first
        /// offset plus the records before its own.
        case several([(completion: Completion, delta: Int64)])

        func resume(returning offset: Int64) {
            switch self {
            case .continuation(let c): c.resume(returning: offset)
            case .waiter(let w): w.complete(.success(offset))
            case .several(let parts): for part in parts { part.completion.resume(returning: offset + part.delta) }
            }
        }

        func resume(throwing error: any Error) {
            switch self {
            case .continuation(let c): c.resume(throwing: error)
            case .waiter(let w): w.complete(.failure(error.asSpoolError))
            case .several(let parts): for part in parts { part.completion.resume(throwing: error) }
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
