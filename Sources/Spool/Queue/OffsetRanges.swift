/// The acknowledged offsets of a consumer group: a low watermark (every offset below it is
/// acked) plus sorted, disjoint, non-adjacent ranges of acked offsets above it. Acks may arrive
/// in any order; in-order acks keep the ranges empty.
///
/// The ranges live in a treap (a binary search tree keyed by lower bound, heap-ordered by a
/// hash of the key) stored in one array, so that ``insert(_:)-(Range<Int64>)`` and
/// ``contains(_:)`` take O(log n) expected time in the number of ranges, whatever order acks
/// come in: 100,000 scattered acks cost about what 100,000 in-order ones do, where a sorted
/// array paid an O(n) shift per insert (issue 19). Merging k ranges into one frees k nodes, each
/// paid for by its own insert, so the amortized cost stays O(log n).
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
    mutating func insert(_ range: Range<Int64>) {
        guard !range.isEmpty, range.upperBound > watermark else { return }
        var lower = max(range.lowerBound, watermark)
        var upper = range.upperBound
        if root == Self.none && lower == watermark {
            watermark = upper  // in order: the common case
            return
        }
        // left: ranges starting below `lower`; right: the others.
        var (left, right) = split(root, below: lower)
        if left != Self.none {
            let (rest, last) = popMax(left)
            let previous = nodes[Int(last)]
            if previous.upper >= lower {  // overlaps or touches: absorb it
                lower = previous.lower
                upper = max(upper, previous.upper)
                release(last)
                left = rest
            } else {
                left = merge(rest, last)
            }
        }
        // Ranges starting at or before `upper` overlap or touch the new one: absorb them all.
        let (absorbed, after) = split(right, below: upper < .max ? upper + 1 : upper)
        if absorbed != Self.none {
            upper = max(upper, releaseAll(absorbed))
        }
        if lower <= watermark {
            // Only possible with `left` empty: every range lies above the watermark + 1.
            watermark = upper
            root = after
        } else {
            root = merge(merge(left, allocate(lower, upper)), after)
        }
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

    /// Frees every node of the subtree at `n`; returns the greatest upper bound in it.
    private mutating func releaseAll(_ n: Int32) -> Int64 {
        var stack: [Int32] = [n]
        var upper = Int64.min
        // Bounded: each node is visited once.
        while let top = stack.popLast() {
            let node = nodes[Int(top)]
            upper = max(upper, node.upper)
            if node.left != Self.none { stack.append(node.left) }
            if node.right != Self.none { stack.append(node.right) }
            release(top)
        }
        return upper
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

    /// Detaches the node with the greatest key from the subtree at `n` (which is not empty);
    /// returns the rest and the detached node.
    private mutating func popMax(_ n: Int32) -> (Int32, Int32) {
        let right = nodes[Int(n)].right
        if right == Self.none {
            let left = nodes[Int(n)].left
            nodes[Int(n)].left = Self.none
            return (left, n)
        }
        let (rest, last) = popMax(right)
        nodes[Int(n)].right = rest
        return (n, last)
    }
}
