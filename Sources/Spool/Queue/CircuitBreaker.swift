/// Stops claiming when `failures` distinct tasks failed with no success between them: evidence
/// of an outage of something every task needs, not of poison tasks (a task failing again counts
/// once). After `coolDown` ms it lets one probe task through: a success closes it; a failure of
/// a task not seen failing before opens it again; a failure of one already seen (a retry of a
/// poison task, which retries are claimed first) says nothing, and the next probe goes at once.
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
    /// Distinct offsets failed since the last success; at most `failures` are kept.
    private var failing: Set<Int64> = []
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
            failing.removeAll(keepingCapacity: true)
            openedAt = nil
            isProbing = false
            return false
        case .neutral:
            return false
        case .failure:
            let isNew = failing.count < failures ? failing.insert(offset).inserted : !failing.contains(offset)
            if isProbing {
                // A probe that failed again on a known poison task proves nothing: probe again.
                if isNew { openedAt = now; isProbing = false }
                return false
            }
            if openedAt == nil && failing.count >= failures {
                openedAt = now
                return true
            }
            return false
        }
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
