/// Stops claiming when `failures` tasks failed with no success between them, counting only
/// tasks not seen failing before: evidence of an outage of something every task needs, not of
/// poison tasks (a task failing again, even after other tasks succeeded, counts once). After
/// `coolDown` ms it lets one probe task through: a success closes it; a failure of a task not
/// seen failing before opens it again; a failure of one already seen (a due retry of a poison
/// task, which claims take first) says nothing, and the next probe goes at once.
struct CircuitBreaker {
    /// What a handled task says about the breaker's dependency.
    enum Verdict: Sendable {
        case success
        case failure
        /// Explicit outcomes (retry asked, dead-letter, unknown job): no evidence either way.
        case neutral
    }

    let failures: Int
    let coolDown: Int64
    /// Counted failures since the last success.
    private var streak = 0
    /// Offsets seen failing, oldest first in `knownOrder`; at most `knownMax` are remembered.
    private var known: Set<Int64> = []
    private var knownOrder: [Int64] = []
    private var knownHead = 0
    static let knownMax = 100_000
    private var openedAt: Int64? = nil
    private(set) var isProbing = false

    init(failures: Int, coolDown: Int64) {
        self.failures = failures
        self.coolDown = coolDown
    }

    var isOpen: Bool { openedAt != nil }

    mutating func allowsClaim(now: Int64, inFlight: Int) -> Bool {
        guard let opened = openedAt else { return true }
        guard now - opened >= coolDown, inFlight == 0 else { return false }
        isProbing = true
        return true
    }

    /// Records a handler outcome; returns true when this outcome opened the breaker.
    mutating func record(offset: Int64, verdict: Verdict, now: Int64) -> Bool {
        switch verdict {
        case .success:
            streak = 0
            openedAt = nil
            isProbing = false
            return false
        case .neutral:
            return false
        case .failure:
            guard remember(offset) else { return false }  // a known failing task: no evidence
            streak += 1
            if isProbing {
                openedAt = now
                isProbing = false
                return false
            }
            if openedAt == nil && streak >= failures {
                openedAt = now
                return true
            }
            return false
        }
    }

    /// Adds `offset` to the known failing tasks; false when it was there already.
    private mutating func remember(_ offset: Int64) -> Bool {
        guard known.insert(offset).inserted else { return false }
        knownOrder.append(offset)
        if known.count > Self.knownMax {
            known.remove(knownOrder[knownHead])
            knownHead += 1
            if knownHead * 2 > knownOrder.count {
                knownOrder.removeFirst(knownHead)
                knownHead = 0
            }
        }
        return true
    }
}

/// Adapts the claim size to handler latency: a claim should be finished well within its lease,
/// so the size shrinks when (latency × claim size ÷ concurrency) nears half the lease, and grows
/// by one per fast completion up to `claimMax`.
struct ClaimThrottle {
    let concurrency: Int
    let claimMax: Int
    let leaseSeconds: Double
    private(set) var claimSize: Int
    private var average: Double? = nil

    init(concurrency: Int, claimMax: Int, leaseMilliseconds: Int64) {
        self.concurrency = concurrency
        self.claimMax = claimMax
        self.leaseSeconds = Double(leaseMilliseconds) / 1000
        claimSize = min(claimMax, concurrency)
    }

    mutating func record(seconds: Double) {
        let value = average.map { $0 * 0.8 + seconds * 0.2 } ?? seconds
        average = value
        let finishTime = value * Double(claimSize) / Double(max(concurrency, 1))
        if finishTime > leaseSeconds / 2 {
            claimSize = max(1, claimSize / 2)
        } else if claimSize < claimMax {
            claimSize += 1
        }
    }
}
