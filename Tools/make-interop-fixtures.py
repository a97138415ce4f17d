#!/usr/bin/env python3
"""Writes fixtures/interop/clients/: Kafka log segments written by Kafka clients, not by Spool.

Run it as `Tools/make-interop-fixtures.py`: it re-executes itself in the virtual environment
that Tools/ensure-python-clients.sh creates (kafka-python, aiokafka, confluent-kafka with their
codec libraries). Every batch here is built by a client's own batch builder (kafka-python's and
aiokafka's DefaultRecordBatchBuilder) or produced by librdkafka (through confluent-kafka) to
librdkafka's in-process mock broker and read back raw with a hand-built Fetch v4 request. The
only bytes this script sets itself are the ones a broker sets outside the CRC (base offset,
partitionLeaderEpoch), the control batches that no client builder makes (kafka-python's builder
with the control bits set and the CRC recomputed), and the CRC of librdkafka's mock-broker
control batches, which the mock leaves 0 (see README.md).

Each segment directory gets `<20-digit base>.log` and `expected.jsonl`: one line per data
record a read_committed consumer sees, in offset order. The expected lines come from what this
script asked each client to write; they are then checked against an independent decode of the
finished segment (kafka-python's MemoryRecords, every CRC validated, aborted transactions and
control records dropped), so a fixture whose bytes disagree with its expected.jsonl is never
written.
"""
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "fixtures", "interop", "clients")
MESSAGE_MAX_BYTES = 1024 * 1024 + 12  # Kafka's message.max.bytes default (LogConfig.DEFAULT_MAX_MESSAGE_BYTES)
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
CODEC_BITS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
TRANSACTIONAL_BIT = 0x10
CONTROL_BIT = 0x20
T0 = 1764000000000  # 2025-11-24T16:00:00Z, every CreateTime here counts from it


def reexec_in_venv():
    """Runs this script under the clients' venv python, creating the venv when needed."""
    if os.environ.get("SPOOL_INTEROP_VENV_ACTIVE") == "1":
        return
    python = subprocess.run([os.path.join(REPO, "Tools", "ensure-python-clients.sh")],
                            check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    env = dict(os.environ, SPOOL_INTEROP_VENV_ACTIVE="1")
    os.execve(python, [python, os.path.abspath(__file__)] + sys.argv[1:], env)


# ---------------------------------------------------------------------------------------------
# Records we ask for, and what a read_committed consumer must see


def text(s):
    return s.encode("utf-8")


def body(label, i, words=24):
    """A compressible value (every codec's builder keeps a batch uncompressed when compression
    does not shrink it, so the values must repeat themselves)."""
    return text(f"{label} task {i:04d}: " + " ".join(f"lorem-ipsum-{w % 5}" for w in range(words)))


def sample_records(label, count, t0, spike=False):
    """`count` records with keys, null keys (every third), headers (a null and an empty header
    value among them), one null value (a tombstone) and one non-UTF-8 value. Timestamps step by
    10 ms from t0; with `spike`, record 5 is 2.5 s ahead (a batch whose largest timestamp is in
    its middle, above the next batches' first ones)."""
    records = []
    for i in range(count):
        key = None if i % 3 == 0 else text(f"{label}-key-{i}")
        value = body(label, i)
        if i == 4:
            value = None
        if i == 7:
            value = bytes([0xff, 0xfe, 0x00, 0x80]) + body(label, i)
        headers = []
        if i % 2 == 1:
            headers = [("trace-id", text(f"{label}-{i:08x}")), ("empty", b""), ("nothing", None)]
        timestamp = t0 + 2500 if spike and i == 5 else t0 + i * 10
        records.append(dict(timestamp=timestamp, key=key, value=value, headers=headers))
    return records


def encode_bytes(data):
    """(text, encoding) for a JSON field: UTF-8 text when the bytes are valid UTF-8."""
    if data is None:
        return None, None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


def expected_line(offset, record):
    key, key_encoding = encode_bytes(record["key"])
    value, value_encoding = encode_bytes(record["value"])
    headers = []
    for name, hvalue in record["headers"]:
        htext, hencoding = encode_bytes(hvalue)
        headers.append({"name": name, "value": htext, "encoding": hencoding})
    return {"offset": offset, "timestamp": record["timestamp"], "key": key, "key_encoding": key_encoding,
            "value": value, "value_encoding": value_encoding, "headers": headers}


# ---------------------------------------------------------------------------------------------
# Segment assembly: what a broker does outside the CRC


class Segment:
    """Batches appended back to back, each given the next offset as its base offset (bytes 0-7,
    outside the CRC, which a broker assigns) and optionally a partitionLeaderEpoch (bytes 12-15,
    outside the CRC, which a broker stamps)."""

    def __init__(self, base_offset):
        self.base_offset = base_offset
        self.next_offset = base_offset
        self.data = bytearray()
        self.expected = []  # (offset, record) a read_committed consumer sees
        self.batches = []   # one description per batch, for the README

    def append(self, batch, records, visible, epoch=None, what=""):
        batch = bytearray(batch)
        base = self.next_offset
        struct.pack_into(">q", batch, 0, base)
        if epoch is not None:
            struct.pack_into(">i", batch, 12, epoch)
        (length,) = struct.unpack_from(">i", batch, 8)
        assert length + 12 == len(batch), "batchLength disagrees with the bytes"
        assert len(batch) <= MESSAGE_MAX_BYTES, f"batch of {len(batch)} B exceeds message.max.bytes"
        (last_delta,) = struct.unpack_from(">i", batch, 23)
        if visible:
            for i, record in enumerate(records):
                self.expected.append((base + i, record))
        self.data += batch
        self.next_offset = base + last_delta + 1
        self.batches.append(f"{base}–{self.next_offset - 1} {what}".strip())
        return base


def build_with(builder_class, records, codec, transactional=False, producer=(-1, -1, -1),
               batch_size=MESSAGE_MAX_BYTES * 2):
    """One batch from a client's own DefaultRecordBatchBuilder."""
    producer_id, producer_epoch, base_sequence = producer
    builder = builder_class(2, CODEC_BITS[codec], transactional, producer_id, producer_epoch,
                            base_sequence, batch_size)
    for i, record in enumerate(records):
        meta = builder.append(i, timestamp=record["timestamp"], key=record["key"], value=record["value"],
                              headers=record["headers"])
        assert meta is not None, "the builder refused a record"
    batch = bytes(builder.build())
    attributes = struct.unpack_from(">h", batch, 21)[0]
    assert attributes & 0x7 == CODEC_BITS[codec], f"{builder_class.__module__} wrote codec {attributes & 7}, not {codec}"
    return batch


def log_append_time(batch, append_time):
    """What a broker with message.timestamp.type=LogAppendTime does to a producer's batch
    (Kafka's LogValidator): attributes bit 3 set, maxTimestamp = the append time, CRC recomputed.
    Consumers then read every record's timestamp as maxTimestamp."""
    from kafka.record.util import calc_crc32c
    batch = bytearray(batch)
    (attributes,) = struct.unpack_from(">h", batch, 21)
    struct.pack_into(">h", batch, 21, attributes | 0x08)
    struct.pack_into(">q", batch, 35, append_time)
    struct.pack_into(">I", batch, 17, calc_crc32c(memoryview(batch)[21:]))
    return bytes(batch)


def control_batch(producer, commit, coordinator_epoch, timestamp):
    """A transaction marker as a broker writes it (Kafka's MemoryRecords.withEndTransactionMarker):
    one control record, key = version 0 + type (0 abort, 1 commit), value = version 0 +
    coordinator epoch, attributes = transactional | control, baseSequence -1. No client builder
    makes control batches, so kafka-python's builder writes the record and the attribute bits and
    CRC are set here."""
    from kafka.record.default_records import DefaultRecordBatchBuilder
    from kafka.record.util import calc_crc32c
    producer_id, producer_epoch = producer
    builder = DefaultRecordBatchBuilder(2, 0, True, producer_id, producer_epoch, -1, 1 << 16)
    builder.append(0, timestamp=timestamp, key=struct.pack(">hh", 0, 1 if commit else 0),
                   value=struct.pack(">hi", 0, coordinator_epoch), headers=[])
    batch = bytearray(builder.build())
    struct.pack_into(">h", batch, 21, TRANSACTIONAL_BIT | CONTROL_BIT)
    struct.pack_into(">I", batch, 17, calc_crc32c(memoryview(batch)[21:]))
    return bytes(batch)


# ---------------------------------------------------------------------------------------------
# kafka-python and aiokafka: their own batch builders


def builder_segment(builder_class, label, base_offset, epoch):
    """Three batches of 20 records per codec (the second with a timestamp spike), then a batch
    whose timestamps are older than everything before it (a producer with a slow clock): enough
    bytes for several index entries at Kafka's 4096-byte interval."""
    segment = Segment(base_offset)
    for n, codec in enumerate(CODECS):
        for k in range(3):
            records = sample_records(f"{label} {codec} {k}", 20, T0 + (n * 3 + k) * 1000, spike=k == 1)
            segment.append(build_with(builder_class, records, codec), records, True, epoch=epoch,
                           what=f"{codec}, 20 records" + (", largest timestamp in the middle" if k == 1 else ""))
    late = sample_records(f"{label} late", 5, T0 - 60_000)
    segment.append(build_with(builder_class, late, "none"), late, True, epoch=epoch,
                   what="none, 5 records older than all before")
    return segment


def kafka_python_segment():
    """Codecs at leader epoch 0 (as the builder writes it), then a leader change to epoch 7:
    a committed transaction with its COMMIT marker, an aborted one whose ABORT marker comes after
    an unrelated non-transactional batch (which read_committed still delivers), and a last batch."""
    from kafka.record.default_records import DefaultRecordBatchBuilder as B
    segment = builder_segment(B, "kafka-python", 0, None)
    t = T0 + 10_000
    stamped = sample_records("kafka-python log-append-time", 5, T0 - 30_000)
    seen = [dict(r, timestamp=t - 500) for r in stamped]
    segment.append(log_append_time(build_with(B, stamped, "gzip"), t - 500), seen, True, epoch=7,
                   what="gzip, LogAppendTime (a broker's stamp: every record reads as maxTimestamp)")
    committed = sample_records("kafka-python committed", 3, t)
    segment.append(build_with(B, committed, "none", True, (4242, 3, 0)), committed, True, epoch=7,
                   what="transactional (producer 4242), committed")
    segment.append(control_batch((4242, 3), True, 7, t + 100), [], False, epoch=7, what="COMMIT marker")
    aborted = sample_records("kafka-python aborted", 4, t + 1000)
    segment.append(build_with(B, aborted, "lz4", True, (4343, 1, 0)), aborted, False, epoch=7,
                   what="lz4, transactional (producer 4343), aborted")
    between = sample_records("kafka-python plain", 2, t + 1500)
    segment.append(build_with(B, between, "none"), between, True, epoch=7,
                   what="non-transactional, inside producer 4343's transaction")
    segment.append(control_batch((4343, 1), False, 7, t + 2000), [], False, epoch=7, what="ABORT marker")
    last = sample_records("kafka-python after", 3, t + 3000)
    segment.append(build_with(B, last, "zstd"), last, True, epoch=7, what="zstd, after the transactions")
    return segment


def aiokafka_segment():
    """aiokafka's builder writes partitionLeaderEpoch −1 itself (NO_PARTITION_LEADER_EPOCH);
    base offset 1000, so relative offsets in the indexes differ from absolute ones."""
    from aiokafka.record.default_records import DefaultRecordBatchBuilder as B
    segment = builder_segment(B, "aiokafka", 1000, None)
    committed = sample_records("aiokafka committed", 4, T0 + 20_000)
    segment.append(build_with(B, committed, "snappy", True, (777, 0, 0)), committed, True,
                   what="snappy, transactional (producer 777), committed")
    segment.append(control_batch((777, 0), True, 2, T0 + 20_100), [], False, epoch=-1, what="COMMIT marker")
    return segment


def baseline_segment():
    """Only what Spool read before issue 13 (codecs none, lz4, zstd, epoch 0, no transaction, few
    headers): the control that shows the consumer-side checks can pass, so a failure on another
    segment points at what that segment adds."""
    from kafka.record.default_records import DefaultRecordBatchBuilder as B
    segment = Segment(0)
    for n, codec in enumerate(["none", "lz4", "zstd"]):
        records = sample_records(f"kafka-python baseline {codec}", 20, T0 + 70_000 + n * 1000, spike=n == 1)
        segment.append(build_with(B, records, codec), records, True, what=f"{codec}, 20 records")
    return segment


def limits_segment():
    """Kafka's default limits: a record with 100 headers, a record whose value is exactly 1 MiB
    (zstd, so its batch stays within message.max.bytes), and an uncompressed batch of exactly
    message.max.bytes (1,048,588 B), the largest a default broker accepts."""
    from kafka.record.default_records import DefaultRecordBatchBuilder as B
    segment = Segment(5000)
    headers = [(f"h{i:03d}", None if i % 10 == 9 else text(f"header value {i}")) for i in range(100)]
    many = [dict(timestamp=T0 + 30_000, key=text("hundred-headers"), value=text("a record with 100 headers"),
                 headers=headers)]
    segment.append(build_with(B, many, "none"), many, True, epoch=7, what="one record with 100 headers")
    line = "one mebibyte of value, line {:06d}\n"
    mib = "".join(line.format(i) for i in range((1 << 20) // len(line.format(0)) + 1)).encode()[:1 << 20]
    assert len(mib) == 1 << 20
    big = [dict(timestamp=T0 + 30_001, key=text("one-mib"), value=mib, headers=[])]
    segment.append(build_with(B, big, "zstd"), big, True, epoch=7, what="zstd, one record with a 1,048,576 B value")
    # Size the value so the uncompressed batch is exactly message.max.bytes.
    probe = [dict(timestamp=T0 + 30_002, key=text("largest-batch"), value=b"x" * 1_048_000, headers=[])]
    short = MESSAGE_MAX_BYTES - len(build_with(B, probe, "none"))
    fill = (mib * 2)[:1_048_000 + short]
    largest = [dict(timestamp=T0 + 30_002, key=text("largest-batch"), value=fill, headers=[])]
    batch = build_with(B, largest, "none")
    assert len(batch) == MESSAGE_MAX_BYTES, len(batch)
    segment.append(batch, largest, True, epoch=7, what=f"uncompressed batch of exactly {MESSAGE_MAX_BYTES:,} B")
    return segment


# ---------------------------------------------------------------------------------------------
# librdkafka: produced to its mock broker, read back raw


def fetch_raw(host, port, topic, partition, offset, max_bytes=4 << 20):
    """One Fetch v4 request (read_uncommitted, so control batches and aborted data come too);
    returns the partition's record bytes exactly as the broker sent them, and its high watermark."""
    name = topic.encode()
    body_ = struct.pack(">iiiib", -1, 100, 1, max_bytes, 0)
    body_ += struct.pack(">i", 1) + struct.pack(">h", len(name)) + name
    body_ += struct.pack(">i", 1) + struct.pack(">iqi", partition, offset, max_bytes)
    client = b"spool-interop-fixtures"
    request = struct.pack(">hhih", 1, 4, 7, len(client)) + client + body_
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(struct.pack(">i", len(request)) + request)

        def recv(n):
            data = b""
            while len(data) < n:
                chunk = sock.recv(n - len(data))
                if not chunk:
                    raise IOError("the mock broker closed the connection")
                data += chunk
            return data
        (size,) = struct.unpack(">i", recv(4))
        response = recv(size)
    pos = 0

    def take(fmt):
        nonlocal pos
        values = struct.unpack_from(fmt, response, pos)
        pos += struct.calcsize(fmt)
        return values
    correlation, _throttle, topics = take(">iii")
    assert correlation == 7 and topics == 1
    (name_length,) = take(">h")
    pos += name_length
    (partitions,) = take(">i")
    assert partitions == 1
    _partition, error, high_watermark, _lso = take(">ihqq")
    assert error == 0, f"fetch error {error}"
    (aborted,) = take(">i")
    pos += max(aborted, 0) * 16
    (length,) = take(">i")
    return response[pos:pos + max(length, 0)], high_watermark


def batches_of(data):
    """(position, bytes) of each whole batch in a byte string."""
    out, pos = [], 0
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from(">i", data, pos + 8)
        if pos + 12 + length > len(data):
            break  # a partial batch at the end of a fetch response
        out.append(data[pos:pos + 12 + length])
        pos += 12 + length
    return out


def librdkafka_segment():
    """Five producers, one per compression.type, plus a transactional one, all on the first
    producer's mock cluster; then every batch is fetched raw. The mock writes transaction markers
    with crc 0, so only those CRCs are recomputed here."""
    import confluent_kafka as ck
    from kafka.record.util import calc_crc32c
    topic = "interop"
    base_conf = {"linger.ms": 200, "batch.num.messages": 100, "enable.idempotence": True,
                 "message.max.bytes": MESSAGE_MAX_BYTES - 12, "log_level": 3}
    first = ck.Producer(dict(base_conf, **{"test.mock.num.brokers": 1, "compression.type": "none"}))
    broker = list(first.list_topics(timeout=10).brokers.values())[0]
    bootstrap = f"{broker.host}:{broker.port}"
    intent = {}  # offset -> record, filled from delivery reports
    hidden = set()  # offsets of aborted records

    def produce(producer, records, hide=False):
        done = []
        for record in records:
            def report(err, msg, record=record):
                assert err is None, err
                done.append((msg.offset(), record))
            producer.produce(topic, partition=0, key=record["key"], value=record["value"],
                             headers=record["headers"] or None, timestamp=record["timestamp"], on_delivery=report)
        producer.flush(30)
        assert len(done) == len(records)
        for offset, record in done:
            intent[offset] = record
            if hide:
                hidden.add(offset)

    others = []
    for n, codec in enumerate(CODECS):
        producer = first
        if codec != "none":
            producer = ck.Producer(dict(base_conf, **{"bootstrap.servers": bootstrap, "compression.type": codec}))
            others.append(producer)
        for k in range(2):
            records = sample_records(f"librdkafka {codec} {k}", 20, T0 + 40_000 + (n * 2 + k) * 1000, spike=k == 0)
            if codec == "none" and k == 0:
                headers = [(f"h{i:03d}", text(f"v{i}")) for i in range(100)]
                records.append(dict(timestamp=T0 + 40_300, key=text("hundred-headers"), value=text("100 headers"),
                                    headers=headers))
            produce(producer, records)
    txn = ck.Producer(dict(base_conf, **{"bootstrap.servers": bootstrap, "transactional.id": "spool-interop",
                                         "compression.type": "zstd"}))
    txn.init_transactions(30)
    txn.begin_transaction()
    produce(txn, sample_records("librdkafka committed", 5, T0 + 50_000))
    txn.commit_transaction(30)
    txn.begin_transaction()
    produce(txn, sample_records("librdkafka aborted", 4, T0 + 51_000), hide=True)
    produce(first, sample_records("librdkafka plain", 2, T0 + 51_500))
    txn.abort_transaction(30)
    txn.begin_transaction()
    produce(txn, sample_records("librdkafka last", 3, T0 + 52_000))
    txn.commit_transaction(30)
    time.sleep(0.3)

    raw, offset, high_watermark = b"", 0, None
    for _ in range(10_000):  # the mock answers one batch per fetch
        data, high_watermark = fetch_raw(broker.host, broker.port, topic, 0, offset)
        batches = batches_of(data)
        if not batches:
            break
        for batch in batches:
            raw += batch
            (base,) = struct.unpack_from(">q", batch, 0)
            (delta,) = struct.unpack_from(">i", batch, 23)
            offset = base + delta + 1
        if offset >= high_watermark:
            break
    assert offset == high_watermark, f"fetched up to {offset}, high watermark {high_watermark}"
    # The mock cluster lives in the first producer: close the others before it.
    for producer in [txn] + others + [first]:
        producer.flush(5)
        producer.close()

    segment = Segment(0)
    fixed = 0
    for batch in batches_of(raw):
        batch = bytearray(batch)
        (attributes,) = struct.unpack_from(">h", batch, 21)
        (stored_crc,) = struct.unpack_from(">I", batch, 17)
        computed = calc_crc32c(memoryview(batch)[21:])
        if stored_crc != computed:
            assert attributes & CONTROL_BIT and stored_crc == 0, "a librdkafka data batch has a bad CRC"
            struct.pack_into(">I", batch, 17, computed)
            fixed += 1
        (base,) = struct.unpack_from(">q", batch, 0)
        (delta,) = struct.unpack_from(">i", batch, 23)
        (count,) = struct.unpack_from(">i", batch, 57)
        offsets = range(base, base + delta + 1)
        records = [intent[o] for o in offsets if o in intent]
        visible = not (attributes & CONTROL_BIT) and not any(o in hidden for o in offsets)
        kind = control_kind(batch) if attributes & CONTROL_BIT else (
            f"{CODECS[attributes & 7]}, {count} records" + (", transactional" if attributes & TRANSACTIONAL_BIT else "")
            + ("" if visible else ", aborted"))
        segment.append(bytes(batch), records, visible, what=kind)
    segment.fixed_control_crcs = fixed
    codecs_seen = {CODECS[struct.unpack_from(">h", b, 21)[0] & 7] for b in batches_of(bytes(segment.data))}
    assert codecs_seen == set(CODECS), f"librdkafka wrote codecs {codecs_seen}, not all five"
    return segment


# ---------------------------------------------------------------------------------------------
# Independent check: decode the finished segment and apply read_committed


def control_kind(batch):
    """"COMMIT marker" or "ABORT marker", from the control record's key (version i16, type i16)."""
    from kafka.record.default_records import DefaultRecordBatch
    marker = next(iter(DefaultRecordBatch(bytes(batch))))
    return "COMMIT marker" if marker.commit else "ABORT marker"


def read_committed(data):
    """[(offset, record)] a read_committed consumer sees in a segment, by kafka-python's decoder:
    every CRC valid, control records dropped, and the records of a producer's transactional
    batches dropped when that producer's next marker is an ABORT."""
    from kafka.record.memory_records import MemoryRecords
    records = MemoryRecords(bytes(data))
    batches = []
    while True:
        batch = records.next_batch()
        if batch is None:
            break
        assert batch.validate_crc(), f"bad CRC at offset {batch.base_offset}"
        batches.append(batch)
    assert sum(b.size_in_bytes for b in batches) == len(data), "trailing bytes after the last batch"
    pending = {}  # producer id -> indexes of its open transactional batches
    dropped = set()
    for n, batch in enumerate(batches):
        if batch.is_control_batch:
            marker = next(iter(batch))
            for index in pending.pop(batch.producer_id, []):
                if marker.abort:
                    dropped.add(index)
        elif batch.is_transactional:
            pending.setdefault(batch.producer_id, []).append(n)
    assert not pending, "a transaction without its marker: read_committed would stop at it"
    seen = []
    for n, batch in enumerate(batches):
        if batch.is_control_batch or n in dropped:
            continue
        for record in batch:
            seen.append((record.offset, dict(timestamp=record.timestamp, key=record.key, value=record.value,
                                             headers=[(k, v) for k, v in record.headers])))
    return seen


def write_segment(directory, segment):
    path = os.path.join(OUT, directory)
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        os.unlink(os.path.join(path, name))
    decoded = read_committed(segment.data)
    want = [(o, dict(timestamp=r["timestamp"], key=r["key"], value=r["value"], headers=list(r["headers"])))
            for o, r in segment.expected]
    assert decoded == want, f"{directory}: the decoded segment disagrees with what was written"
    with open(os.path.join(path, f"{segment.base_offset:020d}.log"), "wb") as f:
        f.write(segment.data)
    with open(os.path.join(path, "expected.jsonl"), "w") as f:
        for offset, record in segment.expected:
            f.write(json.dumps(expected_line(offset, record), ensure_ascii=False) + "\n")
    return len(segment.data), len(segment.expected)


def client_version(module):
    version = module.version()
    return version[0] if isinstance(version, tuple) else version


def main():
    reexec_in_venv()
    import aiokafka
    import confluent_kafka
    import kafka
    segments = [
        ("kafka-python", f"kafka-python {kafka.__version__}, `kafka.record.default_records.DefaultRecordBatchBuilder`",
         kafka_python_segment()),
        ("aiokafka", f"aiokafka {aiokafka.__version__}, `aiokafka.record.default_records.DefaultRecordBatchBuilder` (C extension)",
         aiokafka_segment()),
        ("kafka-python-limits", f"kafka-python {kafka.__version__}, `DefaultRecordBatchBuilder`", limits_segment()),
        ("kafka-python-baseline", f"kafka-python {kafka.__version__}, `DefaultRecordBatchBuilder`", baseline_segment()),
        ("librdkafka", f"librdkafka {confluent_kafka.libversion()[0]} through confluent-kafka {client_version(confluent_kafka)}, "
         "produced to librdkafka's mock broker and fetched raw (Fetch v4)", librdkafka_segment()),
    ]
    rows = []
    for directory, writer, segment in segments:
        size, count = write_segment(directory, segment)
        rows.append((directory, segment, writer, size, count))
        print(f"{directory}: {len(segment.batches)} batches, {size} B, {count} records a read_committed consumer sees")
    write_readme(rows)


def write_readme(rows):
    lines = [
        "# Segments written by Kafka clients",
        "",
        "Made by `Tools/make-interop-fixtures.py` (run it to regenerate; it creates its venv with",
        "`Tools/ensure-python-clients.sh`). No byte here was encoded by Spool. Each directory holds one",
        "segment, `<20-digit base offset>.log`, of consecutive batches, and `expected.jsonl`: one line per",
        "data record that a read_committed consumer sees, in offset order (control records and the records",
        "of aborted transactions are left out): `offset`, `timestamp` (ms, as a consumer reads it: the",
        "record's CreateTime, or its batch's maxTimestamp under LogAppendTime), `key` and `value`",
        "(null, or text with `key_encoding`/`value_encoding` `utf-8` or `base64`), and `headers` as",
        "`{name, value, encoding}` objects in stored order. The script checks each file against an",
        "independent decode (kafka-python's `MemoryRecords`, every CRC validated) before writing it.",
        "",
        "Bytes set outside a client's builder, as a broker sets them: the base offset of every batch",
        "(bytes 0–7, outside the CRC) and, where a row says so, partitionLeaderEpoch (bytes 12–15, outside",
        "the CRC). No Kafka client builds control batches: the COMMIT/ABORT markers of the kafka-python",
        "and aiokafka segments are kafka-python's builder output with attributes set to",
        "transactional|control (0x30) and the CRC recomputed. librdkafka's mock broker writes its markers",
        "itself but leaves their CRC 0 (a real broker computes it); only those CRCs were recomputed.",
        "Regenerating changes a few bytes and nothing else: the gzip header's MTIME (and so the CRC) of",
        "gzip batches, and the producer ids librdkafka's mock broker hands out.",
        "",
        "| file | written by | what it holds |",
        "|---|---|---|",
    ]
    holds = {
        "kafka-python": "codecs none, gzip, snappy (xerial framing), lz4, zstd at partitionLeaderEpoch 0 (as the builder "
                        "writes it); then epoch 7 (a broker's stamp after a leader change): a gzip batch a broker "
                        "stamped with LogAppendTime (attributes bit 3, maxTimestamp = append time, CRC recomputed: "
                        "every record reads as that time), a committed transaction "
                        "with its COMMIT marker, an aborted lz4 transaction whose ABORT marker follows an unrelated "
                        "non-transactional batch (delivered), and a last zstd batch",
        "aiokafka": "base offset 1000; codecs none, gzip, snappy, lz4, zstd at partitionLeaderEpoch −1 (as aiokafka "
                    "writes it), then a committed snappy transaction with its COMMIT marker",
        "kafka-python-limits": "base offset 5000, epoch 7: a record with 100 headers (every tenth value null), "
                               "a record with a 1,048,576 B value (zstd), and an uncompressed batch of exactly "
                               "1,048,588 B (message.max.bytes, the largest a default broker accepts)",
        "kafka-python-baseline": "only what Spool read before issue 13: codecs none, lz4, zstd at epoch 0, "
                                 "no transaction, at most 3 headers a record; the control for the others",
        "librdkafka": "idempotent producers (producer ids and sequences set), one per compression.type none "
                      "(with a 100-header record), gzip, snappy, lz4, zstd, at partitionLeaderEpoch 0 as the mock "
                      "broker writes it; then a transactional producer: "
                      "committed, aborted (with a non-transactional batch between it and its ABORT marker), "
                      "committed; the mock's control batches (timestamps 0, baseSequence 0, as the mock "
                      "writes them) with their CRC recomputed",
    }
    for directory, segment, writer, size, count in rows:
        name = f"{segment.base_offset:020d}.log"
        lines.append(f"| `{directory}/{name}` ({size:,} B, {count} data records) | {writer} | {holds[directory]} |")
    lines += ["", "Batches, by offsets:", ""]
    for directory, segment, _writer, _size, _count in rows:
        lines.append(f"- `{directory}`: " + "; ".join(segment.batches))
    lines.append("")
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
