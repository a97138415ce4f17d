import SpoolKafkaProtocol
import SpoolTesting

/// Seeded random values for the generated `sample(version:random:)` functions (SplitMix64), so
/// every round-trip failure names a seed that reproduces it.
struct SampleRandom {
    private var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { generator.next() }

    /// True one time in `n`.
    mutating func chance(_ n: UInt64) -> Bool { next() % n == 0 }
    mutating func int8() -> Int8 { Int8(truncatingIfNeeded: next()) }
    mutating func int16() -> Int16 { Int16(truncatingIfNeeded: next()) }
    mutating func int32() -> Int32 { Int32(truncatingIfNeeded: next()) }
    mutating func int64() -> Int64 { Int64(bitPattern: next()) }
    mutating func uint16() -> UInt16 { UInt16(truncatingIfNeeded: next()) }
    mutating func bool() -> Bool { next() & 1 == 1 }
    /// A finite double (NaN would not equal itself).
    mutating func double() -> Double { Double(int32()) / 8 }
    mutating func uuid() -> KafkaUUID { KafkaUUID(high: next(), low: next()) }

    /// ASCII, empty, or multi-byte UTF-8, up to 40 bytes; sometimes 200 (a 2-byte compact length).
    mutating func string() -> String {
        switch next() % 6 {
        case 0: return ""
        case 1: return "spool-é€😀-\(next() % 1000)"
        case 2: return String(repeating: "x", count: 200)
        default: return String((0..<Int(next() % 40)).map { _ in Character(Unicode.Scalar(UInt8(97 + next() % 26))) })
        }
    }

    mutating func bytes() -> [UInt8] {
        let count = next() % 5 == 0 ? 300 : Int(next() % 24)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }

    /// 0 to 3 elements.
    mutating func array<T>(_ element: (inout SampleRandom) -> T) -> [T] {
        (0..<Int(next() % 4)).map { _ in element(&self) }
    }

    /// A tag no message in the spec uses, with arbitrary bytes.
    mutating func unknownTaggedField() -> KafkaTaggedField {
        KafkaTaggedField(tag: UInt32(100 + next() % 200), data: bytes())
    }
}
