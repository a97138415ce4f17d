import SpoolFormat

/// One record per line, for people or as JSON (`dump` and `tail` share it).
struct RecordPrinter {
    var json: Bool
    var valueLimit: Int?
    var file: String? = nil
    /// Whether to print values (dump without --payloads shows their size only).
    var values = true
    /// Reused between calls for JSON lines (one allocation for a whole dump).
    var buffer: ByteBuffer? = ByteBuffer()

    func print(_ record: Record) { print([record]) }

    func print(_ records: [Record]) {
        if json {
            let out = buffer ?? ByteBuffer()
            out.clear()
            let fileField = file.map(RecordJSON.fileField)
            for record in records { RecordJSON.append(record, fileField: fileField, values: values, into: out) }
            Console.out(bytes: out.bytes)
            return
        }
        for record in records {
            let headers = record.headers.map { "\($0.name)=\(Human.payload($0.value, limit: 32))" }.joined(
                separator: " ")
            Console.out(
                "  offset \(record.offset)  time \(Human.timestamp(record.timestamp))  key \(Human.payload(record.key, limit: 32))"
                    + (headers.isEmpty ? "" : "  headers \(headers)")
                    + "  value \(record.value.map { "\($0.count) B" } ?? "null")"
                    + (values && record.value != nil ? " " + Human.payload(record.value, limit: valueLimit) : ""))
        }
    }
}
