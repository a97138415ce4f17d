@_exported import struct SpoolFormat.Record
@_exported import struct SpoolFormat.RecordBatch
@_exported import struct SpoolFormat.RecordHeader
// The SpoolFormat types that Spool's public API takes and returns, reachable from `import
// Spool` alone (SpoolFormat is not a product). Each is re-exported by name, so a file that
// imports both modules sees one declaration, not two.
@_exported import struct SpoolFormat.RecordInput
