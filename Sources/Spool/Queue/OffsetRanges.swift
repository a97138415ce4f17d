/// The acknowledged offsets of a consumer group: a low watermark (every offset below it is
/// acked) plus sorted, disjoint, non-adjacent ranges of acked offsets above it. Acks may arrive
/// in any order; in-order acks keep the ranges empty.
///
/// The ranges live in a treap (a binary search tree keyed by lower bound, heap-ordered by a
/// hash of the key) stored in one array, so that ``insert(_:)-(Range<Int64>)`` and
/// ``contains(_:)`` take O(log n) expected time in the number of ranges, whatever order acks
/// come in: 100,000 scattered acks cost about what 100,000 in-order ones do, where a sorted
/// array paid an O(n) shift per insert (issue 19). Merging k ranges into one removes k nodes,
/// each paid for by its own insert, so the amortized cost stays O(log n).
///
/// A value type (the node array is copied on write); not thread-safe by itself
/// (``ConsumerGroup`` guards it).
struct OffsetRanges: Equatable, Sendable {
    /// Every offset below this is acknowledged.
    private(set) var watermark: Int64
    /// Offsets acked at or above the watermark (the ranges' total length), kept as they change.
    private(set) var ackedAboveWatermark: Int64 = 0
    /// How many ranges there are.
    private(set) var rangeCount = 0

    private struct Node: Sendable {
        var lower: Int64
        var upper: Int64
        var priority: UInt64
        var left: Int32
        var right: Int32
    }
    private static let none: Int32 = -1
    private var nodes: [Node] = []
    private var free: [Int32] = []
    private var root: Int32 = OffsetRanges.none

    init(watermark: Int64) {
        self.watermark = watermark
    }

    /// Half-open ranges [lower, upper) above the watermark, ascending (O(n): for encoding and
    /// inspection, not for the hot path).
    var ranges: [Range<Int64>] { ranges(overlapping: Int64.min..<Int64.max) }

    /// The ranges that overlap `window`, clipped to it, ascending; O(log n + k).
    func ranges(overlapping window: Range<Int64>) -> [Range<Int64>] {
        var out: [Range<Int64>] = []
        var stack: [Int32] = []
        var n = root
        // In-order walk that skips subtrees wholly outside the window (bounded by the node count).
        while n != Self.none || !stack.isEmpty {
            while n != Self.none {
                if nodes[Int(n)].upper <= window.lowerBound {
                    n = nodes[Int(n)].right  // this node and its left subtree end before the window
                } else {
                    stack.append(n)
                    n = nodes[Int(n)].left
                }
            }
            guard let top = stack.popLast() else { break }
            let node = nodes[Int(top)]
            if node.lower >= window.upperBound { break }
            out.append(max(node.lower, window.lowerBound)..<min(node.upper, window.upperBound))
            n = node.right
        }
        return out
    }

    func contains(_ offset: Int64) -> Bool {
        if offset < watermark { return true }
        var n = root
        // Bounded by the tree's depth.
        while n != Self.none {
            let node = nodes[Int(n)]
            if offset < node.lower {
                n = node.left
            } else if offset >= node.upper {
                n = node.right
            } else {
                return true
            }
        }
        return false
    }

    /// Marks [range) acknowledged; merges neighbours and advances the watermark.
    ///
    /// One read-only descent finds the neighbours; a range that touches one grows it in place
    /// (same key order, same priority), a range that touches none becomes a node (inserted by
    /// descent, splitting only the subtree it takes the place of), and each range it swallows
    /// is removed once.
    mutating func insert(_ range: Range<Int64>) {
        guard !range.isEmpty, range.upperBound > watermark else { return }
        let lower = max(range.lowerBound, watermark)
        let upper = range.upperBound
        if root == Self.none {
            if lower == watermark { watermark = upper } else { root = allocate(lower, upper) }
            return  // in order: the common case
        }
        let (previous, next) = neighbours(of: lower)
        if previous != Self.none && nodes[Int(previous)].upper >= lower {
            if upper > nodes[Int(previous)].upper { grow(previous, to: upper, next: next) }
        } else if next != Self.none && nodes[Int(next)].lower <= upper {
            ackedAboveWatermark += nodes[Int(next)].lower - lower
            nodes[Int(next)].lower = lower
            if upper > nodes[Int(next)].upper { grow(next, to: upper, next: neighbours(of: lower).1) }
            if lower <= watermark {
                // It is the first range (every other one lies above watermark + 1): it joins the watermark.
                watermark = nodes[Int(next)].upper
                remove(next)
            }
        } else if lower <= watermark {
            watermark = upper
        } else {
            let node = allocate(lower, upper)
            let top = root
            root = nodes.withUnsafeMutableBufferPointer { Self.insert(node, into: top, $0) }
        }
    }

    /// The node with the greatest lower bound at or below `key`, and the one with the least
    /// lower bound above it (`none` when there is none).
    private func neighbours(of key: Int64) -> (Int32, Int32) {
        var n = root
        var previous = Self.none
        var next = Self.none
        // Bounded by the tree's depth.
        while n != Self.none {
            if nodes[Int(n)].lower <= key {
                previous = n
                n = nodes[Int(n)].right
            } else {
                next = n
                n = nodes[Int(n)].left
            }
        }
        return (previous, next)
    }

    /// Raises node `n`'s upper bound to `upper` (above its own), absorbing the ranges it
    /// reaches; `next` is the node after `n`.
    private mutating func grow(_ n: Int32, to upper: Int64, next first: Int32) {
        var upper = upper
        var next = first
        // Bounded: each pass removes a node.
        while next != Self.none && nodes[Int(next)].lower <= upper {
            upper = max(upper, nodes[Int(next)].upper)
            remove(next)
            next = neighbours(of: nodes[Int(n)].lower).1
        }
        ackedAboveWatermark += upper - nodes[Int(n)].upper
        nodes[Int(n)].upper = upper
    }

    /// Unlinks node `n` (found by its lower bound) and frees it.
    private mutating func remove(_ n: Int32) {
        let key = nodes[Int(n)].lower
        let top = root
        root = nodes.withUnsafeMutableBufferPointer { Self.removing(key, from: top, $0) }
        release(n)
    }

    mutating func insert(_ offset: Int64) { insert(offset..<(offset + 1)) }

    static func == (a: OffsetRanges, b: OffsetRanges) -> Bool {
        a.watermark == b.watermark && a.rangeCount == b.rangeCount && a.ranges == b.ranges
    }

    // MARK: Treap

    /// A fixed, well-mixed priority per lower bound (SplitMix64's finalizer): the tree's shape
    /// depends only on the set of ranges, and is balanced in expectation.
    private static func priority(_ key: Int64) -> UInt64 {
        var z = UInt64(bitPattern: key) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private mutating func allocate(_ lower: Int64, _ upper: Int64) -> Int32 {
        let node = Node(lower: lower, upper: upper, priority: Self.priority(lower), left: Self.none, right: Self.none)
        ackedAboveWatermark += upper - lower
        rangeCount += 1
        if let slot = free.popLast() {
            nodes[Int(slot)] = node
            return slot
        }
        nodes.append(node)
        return Int32(nodes.count - 1)
    }

    private mutating func release(_ n: Int32) {
        ackedAboveWatermark -= nodes[Int(n)].upper - nodes[Int(n)].lower
        rangeCount -= 1
        free.append(n)
    }

    // The tree operations work on the node buffer directly: one uniqueness check per insert
    // or removal instead of one per node written. Recursion depth is the tree's depth.

    /// Inserts node `x` into the subtree at `n`; returns the subtree's new root.
    private static func insert(_ x: Int32, into n: Int32, _ t: UnsafeMutableBufferPointer<Node>) -> Int32 {
        if n == none { return x }
        if t[Int(x)].priority > t[Int(n)].priority {
            (t[Int(x)].left, t[Int(x)].right) = split(n, below: t[Int(x)].lower, t)
            return x
        }
        if t[Int(x)].lower < t[Int(n)].lower {
            t[Int(n)].left = insert(x, into: t[Int(n)].left, t)
        } else {
            t[Int(n)].right = insert(x, into: t[Int(n)].right, t)
        }
        return n
    }

    /// Unlinks the node whose lower bound is `key` from the subtree at `n`; returns its new root.
    private static func removing(_ key: Int64, from n: Int32, _ t: UnsafeMutableBufferPointer<Node>) -> Int32 {
        guard n != none else { return n }
        if key < t[Int(n)].lower {
            t[Int(n)].left = removing(key, from: t[Int(n)].left, t)
            return n
        } else if key > t[Int(n)].lower {
            t[Int(n)].right = removing(key, from: t[Int(n)].right, t)
            return n
        }
        return merge(t[Int(n)].left, t[Int(n)].right, t)
    }

    /// Splits the subtree at `n` into the nodes whose lower bound is below `key`, and the rest.
    private static func split(_ n: Int32, below key: Int64, _ t: UnsafeMutableBufferPointer<Node>) -> (Int32, Int32) {
        guard n != none else { return (none, none) }
        if t[Int(n)].lower < key {
            let (l, r) = split(t[Int(n)].right, below: key, t)
            t[Int(n)].right = l
            return (n, r)
        } else {
            let (l, r) = split(t[Int(n)].left, below: key, t)
            t[Int(n)].left = r
            return (l, n)
        }
    }

    /// Joins two subtrees where every key of `a` is below every key of `b`.
    private static func merge(_ a: Int32, _ b: Int32, _ t: UnsafeMutableBufferPointer<Node>) -> Int32 {
        if a == none { return b }
        if b == none { return a }
        if t[Int(a)].priority >= t[Int(b)].priority {
            t[Int(a)].right = merge(t[Int(a)].right, b, t)
            return a
        } else {
            t[Int(b)].left = merge(a, t[Int(b)].left, t)
            return b
        }
    }
}
