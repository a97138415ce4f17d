/// The benchmark task of WORKLOAD.md: exactly `size` bytes of JSON-like text, different for
/// each id, padded with 'x' (the same bytes as `make_payload()` in the peers' qbench.c).
public enum Payload {
    public static func make(id: UInt64, size: Int) -> [UInt8] {
        precondition(size >= 2)
        var out = Array("{\"id\":\(id),\"type\":\"email\",\"to\":\"user\(id % 100_000)@example.com\",\"attempt\":0,\"pad\":\"".utf8)
        if out.count > size - 2 { out.removeLast(out.count - (size - 2)) }
        while out.count < size - 2 { out.append(UInt8(ascii: "x")) }
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: "}"))
        return out
    }
}
