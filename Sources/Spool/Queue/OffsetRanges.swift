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
            if offset < node.lower { n = node.left } else if offset >= node.upper { n = node.right } else { return true }
        }
        return false
    }

    /// Marks [range) acknowledged; merges neighbours and advances the watermark.
    ///
    /// One read-only descent finds the neighbours; a range that touches one grows it in place
    /// (same key order, same priority), a range that touches none becomes a node (one split,
    /// two merges), and each range it swallows is removed once.
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
            grow(previous, to: upper)
        } else if next != Self.none && nodes[Int(next)].lower <= upper {
            ackedAboveWatermark += nodes[Int(next)].lower - lower
            nodes[Int(next)].lower = lower
            grow(next, to: upper)
            if lower <= watermark {
                // It is the first range (every other one lies above watermark + 1): it joins the watermark.
                watermark = nodes[Int(next)].upper
                remove(next)
            }
        } else if lower <= watermark {
            watermark = upper
        } else {
            let node = allocate(lower, upper)
            let (left, right) = split(root, below: lower)
            root = merge(merge(left, node), right)
        }
    }

    /// The node with the greatest lower bound at or below `key`, and the one with the least
    /// lower bound above it (`none` when there is none).
    private func neighbours(of key: Int64) -> (Int32, Int32) {
        var n = root, previous = Self.none, next = Self.none
        // Bounded by the tree's depth.
        while n != Self.none {
            if nodes[Int(n)].lower <= key { previous = n; n = nodes[Int(n)].right } else { next = n; n = nodes[Int(n)].left }
        }
        return (previous, next)
    }

    /// Raises node `n`'s upper bound to `upper` (if higher), absorbing the ranges it reaches.
    private mutating func grow(_ n: Int32, to upper: Int64) {
        var upper = max(upper, nodes[Int(n)].upper)
        // Bounded: each pass removes a node.
        while true {
            let (_, next) = neighbours(of: nodes[Int(n)].lower)
            guard next != Self.none, nodes[Int(next)].lower <= upper else { break }
            upper = max(upper, nodes[Int(next)].upper)
            remove(next)
        }
        ackedAboveWatermark += upper - nodes[Int(n)].upper
        nodes[Int(n)].upper = upper
    }

    /// Unlinks node `n` (found by its lower bound) and frees it.
    private mutating func remove(_ n: Int32) {
        let key = nodes[Int(n)].lower
        root = removing(key, from: root)
    }

    private mutating func removing(_ key: Int64, from n: Int32) -> Int32 {
        guard n != Self.none else { return n }
        let node = nodes[Int(n)]
        if key < node.lower {
            nodes[Int(n)].left = removing(key, from: node.left)
            return n
        } else if key > node.lower {
            nodes[Int(n)].right = removing(key, from: node.right)
            return n
        }
        release(n)
        return merge(node.left, node.right)
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

    /// Splits the subtree at `n` into the nodes whose lower bound is below `key`, and the rest.
    private mutating func split(_ n: Int32, below key: Int64) -> (Int32, Int32) {
        guard n != Self.none else { return (Self.none, Self.none) }
        if nodes[Int(n)].lower < key {
            let (l, r) = split(nodes[Int(n)].right, below: key)
            nodes[Int(n)].right = l
            return (n, r)
        } else {
            let (l, r) = split(nodes[Int(n)].left, below: key)
            nodes[Int(n)].left = r
            return (l, n)
        }
    }

    /// Joins two subtrees where every key of `a` is below every key of `b`.
    private mutating func merge(_ a: Int32, _ b: Int32) -> Int32 {
        if a == Self.none { return b }
        if b == Self.none { return a }
        if nodes[Int(a)].priority >= nodes[Int(b)].priority {
            nodes[Int(a)].right = merge(nodes[Int(a)].right, b)
            return a
        } else {
            nodes[Int(b)].left = merge(a, nodes[Int(b)].left)
            return b
        }
    }
}
