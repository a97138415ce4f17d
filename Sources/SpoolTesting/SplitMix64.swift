// The one seeded generator of the test suites is the library's own ``SplitMix64`` (consumer
// groups' retry jitter and the drill's choices use it, so it stays in Spool). It is
// re-exported by name, so a test target that does not import Spool (SpoolFormatTests) reaches
// it through SpoolTesting alone, and a file importing both modules sees one declaration.
@_exported import struct Spool.SplitMix64

extension SplitMix64 {
    /// A value in `0..<bound`, for picking positions and choices in tests.
    /// - Precondition: `bound` is positive (a programmer error otherwise).
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "below(\(bound)): the bound must be positive")
        return Int(next() % UInt64(bound))
    }
}
