/// One producer's encoded batches, waiting for the writer. The producer encoded them (and
/// their CRCs) on its own thread; the writer only stamps base offsets, which the CRC does not
/// cover (FORMAT.md, "Batch header"), and writes them.
struct AppendRequest {
    var bytes: [UInt8]
    /// Resumed with the offset of the request's first record once its durability holds.
    let continuation: UnsafeContinuation<Int64, any Error>
}
