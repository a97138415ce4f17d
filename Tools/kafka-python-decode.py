#!/usr/bin/env python3
"""Decodes Kafka RecordBatch v2 segment files with kafka-python (an independent decoder) and
prints one JSON line per record, so Spool's tests can check that Kafka's own Python client reads
what Spool writes. Every batch's CRC is checked; any error exits non-zero.

Usage: kafka-python-decode.py FILE...   (run with the python of Tools/ensure-python-clients.sh)
Output: {"file", "offset", "timestamp", "codec", "key", "value", "headers": [[name, value]]},
with key, value and header values as lower-case hex, or null.
"""
import json
import sys

from kafka.record import MemoryRecords

CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}


def hexed(data):
    return None if data is None else data.hex()


def main(paths):
    for path in paths:
        with open(path, "rb") as f:
            records = MemoryRecords(f.read())
        batches = 0
        while True:
            batch = records.next_batch()
            if batch is None:
                break
            batches += 1
            if not batch.validate_crc():
                sys.exit(f"{path}: batch at offset {batch.base_offset} fails kafka-python's CRC check")
            codec = CODECS[batch.compression_type]
            for record in batch:
                print(json.dumps({
                    "file": path, "offset": record.offset, "timestamp": record.timestamp, "codec": codec,
                    "key": hexed(record.key), "value": hexed(record.value),
                    "headers": [[name, hexed(value)] for name, value in record.headers],
                }))
        if batches == 0:
            sys.exit(f"{path}: no batch")


if __name__ == "__main__":
    main(sys.argv[1:])
