@testable import SpoolCLI
import SpoolFormat
import Testing

@Suite("record JSON lines")
struct RecordJSONTests {
    @Test("a record's JSON line escapes quotes, backslashes and control bytes, keeps UTF-8, and shows other bytes as hex")
    func escapes() {
        let record = Record(offset: 42, timestamp: -5, key: Array("k\"\\\n\r\t\u{1}é".utf8), value: [0xff, 0x00, 0x41],
                            headers: [RecordHeader(name: "h", value: Array("v".utf8))])
        var out: [UInt8] = []
        RecordJSON.append(record, file: "a\"b.log", values: true, into: &out)
        #expect(String(decoding: out, as: UTF8.self)
                == #"{"type":"record","file":"a\"b.log","offset":42,"timestamp":-5,"key":"k\"\\\n\r\t\u0001é","value":null,"value_hex":"ff0041","headers":[["h","v"]]}"# + "\n")
        // The same fields as JSONLine writes them, so both paths agree.
        var line = JSONLine()
        line.add("key", String(decoding: record.key!, as: UTF8.self))
        #expect(line.text == #"{"key":"k\"\\\n\r\t\u0001é"}"#)
        out = []
        RecordJSON.append(Record(offset: 0, timestamp: 0, key: nil, value: nil, headers: []), file: nil, values: false, into: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"{"type":"record","offset":0,"timestamp":0,"key":null,"value_bytes":null,"headers":[]}"# + "\n")
    }
}
