import Foundation
@testable import Spool
import Testing

/// `JSONJobCoder` writes and reads JSON with Spool's one-pass coder (issue 18's typed-job
/// overhead) and must stay interchangeable with Foundation's `JSONEncoder`/`JSONDecoder`: tasks
/// enqueued before the change decode after it, and the other way round.
@Suite("JSON job coder")
struct JSONJobCoderTests {
    enum Kind: String, Codable, Sendable, Equatable { case welcome, reset }

    enum Shape: Codable, Sendable, Equatable {
        case circle(radius: Double)
        case box(width: Int, height: Int)
        case none
    }

    struct Nested: Codable, Sendable, Equatable {
        var tags: [String]
        var scores: [String: Int]
        var matrix: [[Int8]]
    }

    struct Everything: Codable, Sendable, Equatable {
        var text: String
        var escaped: String
        var unicode: String
        var flag: Bool
        var small: Int8
        var big: Int64
        var huge: UInt64
        var negative: Int
        var ratio: Double
        var whole: Double
        var tiny: Float
        var optional: String?
        var missing: Int?
        var kind: Kind
        var shapes: [Shape]
        var nested: Nested
        var when: Date
        var uuid: UUID
        var empty: [Int]
        var emptyObject: [String: String]
    }

    static let everything = Everything(
        text: "plain", escaped: "quote \" backslash \\ slash / newline \n tab \t bell \u{07} nul \u{00}",
        unicode: "é 漢字 🚀 \u{1F600}", flag: true, small: -128, big: Int64.min, huge: UInt64.max, negative: -42,
        ratio: 0.1, whole: 3, tiny: 1.5, optional: "here", missing: nil, kind: .reset,
        shapes: [.circle(radius: 2.5), .box(width: 3, height: 4), .none],
        nested: Nested(tags: ["a", ""], scores: ["x": 1, "y": -2], matrix: [[1, 2], [], [3]]),
        when: Date(timeIntervalSinceReferenceDate: 123_456.789), uuid: UUID(), empty: [], emptyObject: [:])

    @Test("the one-pass coder round-trips every kind of Codable value, without falling back to Foundation")
    func roundTripsEveryKindOfValueItself() throws {
        let bytes = try JSONBytesEncoder.encode(Self.everything)
        #expect(try JSONBytesDecoder.decode(Everything.self, from: bytes) == Self.everything)
        #expect(try JSONJobCoder().decode(Everything.self, from: JSONJobCoder().encode(Self.everything)) == Self.everything)
    }

    @Test("Foundation reads what the one-pass coder writes, and the one-pass coder reads what Foundation writes")
    func interchangeableWithFoundation() throws {
        let ours = try JSONBytesEncoder.encode(Self.everything)
        #expect(try JSONDecoder().decode(Everything.self, from: Data(ours)) == Self.everything)
        let theirs = Array(try JSONEncoder().encode(Self.everything))
        #expect(try JSONBytesDecoder.decode(Everything.self, from: theirs) == Self.everything)
        let pretty = JSONEncoder()
        pretty.outputFormatting = [.prettyPrinted, .sortedKeys]
        #expect(try JSONBytesDecoder.decode(Everything.self, from: Array(pretty.encode(Self.everything))) == Self.everything)
    }

    @Test("values written as JSONEncoder writes them: same text for scalars, strings and arrays")
    func writesWhatJSONEncoderWrites() throws {
        for text in ["a/b \"c\" \\ \n\u{01}", "", "🚀"] {
            #expect(try JSONBytesEncoder.encode(text) == Array(JSONEncoder().encode(text)))
        }
        #expect(try JSONBytesEncoder.encode([1, -2, 0, Int.max, Int.min]) == Array(JSONEncoder().encode([1, -2, 0, Int.max, Int.min])))
        #expect(try JSONBytesEncoder.encode([0.5, 3, -1e-7, 1e300]) == Array(JSONEncoder().encode([0.5, 3, -1e-7, 1e300])))
        #expect(try JSONBytesEncoder.encode([true, false]) == Array(JSONEncoder().encode([true, false])))
        #expect(try JSONBytesEncoder.encode(["k": [Int?.none, 1]]) == Array(JSONEncoder().encode(["k": [Int?.none, 1]])))
    }

    struct WithData: Codable, Sendable, Equatable {
        var blob: Data
        var link: URL
    }

    @Test("Data, URL and non-finite floats go through Foundation's coder, with its results and errors")
    func fallsBackWhereFoundationSpecialCases() throws {
        let value = WithData(blob: Data([0, 1, 2, 255]), link: URL(string: "https://example.com/a?b=c")!)
        #expect(throws: JSONBytes.Unsupported.self) { try JSONBytesEncoder.encode(value) }
        let bytes = try JSONJobCoder().encode(value)
        // Foundation's key order is not stable from one encoder to the next: compare the JSON
        // values, not the bytes.
        let ours = try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary
        let theirs = try JSONSerialization.jsonObject(with: JSONEncoder().encode(value)) as? NSDictionary
        #expect(ours != nil && ours == theirs, "Data as base64 and URL as a string, as JSONEncoder writes them")
        #expect(throws: JSONBytes.Unsupported.self) { try JSONBytesDecoder.decode(WithData.self, from: bytes) }
        #expect(try JSONJobCoder().decode(WithData.self, from: bytes) == value)
        #expect(throws: EncodingError.self) { try JSONJobCoder().encode([Double.nan]) }
    }

    @Test("bad input is Foundation's DecodingError: truncated, trailing bytes, wrong types, missing keys, deep nesting")
    func badInputThrowsFoundationsErrors() throws {
        let coder = JSONJobCoder()
        for text in ["{\"id\":1", "{\"id\":1} x", "{\"id\":\"1\"}", "{}", "{\"id\":1.5}", "{\"id\":01}", "{\"id\":-}", "[1]",
                     String(repeating: "[", count: 600) + String(repeating: "]", count: 600)] {
            #expect(throws: DecodingError.self, "\(text.prefix(40))") {
                try coder.decode(Identified.self, from: Array(text.utf8))
            }
        }
        #expect(throws: DecodingError.self) { try coder.decode(String.self, from: [0x22, 0xFF, 0xFE, 0x22]) }
        #expect(try coder.decode(Identified.self, from: Array(" { \"id\" : 7 , \"id2\" : null } ".utf8)) == Identified(id: 7))
        #expect(try coder.decode(String.self, from: Array("\"\\ud83d\\ude80 \\u00e9\"".utf8)) == "🚀 é")
    }

    struct Identified: Codable, Sendable, Equatable {
        var id: Int
    }
}
