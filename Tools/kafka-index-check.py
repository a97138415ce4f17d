#!/usr/bin/env python3
"""Checks a segment's .index and .timeindex against Kafka's meaning of them, independently of Spool.

Usage:
  Tools/kafka-index-check.py SEGMENT.log [--index-interval-bytes N] [--exact] [--active]
  Tools/kafka-index-check.py --self-test

Prints one line per finding and exits 1 when there is any, 0 when the indexes are clean, 2 on a
usage or read error. Records are decoded with kafka-python (an independent Kafka client); when
it is not importable, the script re-runs itself in the venv of Tools/ensure-python-clients.sh.

The rules come from apache/kafka (read at 1eb7644, Oct 2024); no code is copied:

- storage/.../log/LogSegment.java, `append` and `recover`: per batch, the largest timestamp so far
  and its "shallow" offset (the *last offset of the first batch* that reached it, strictly
  greater) are updated first; then, when the bytes since the last index entry (counted from the
  position of the batch that got the last entry, or from 0) are *greater than*
  indexIntervalBytes (4096 by default), checked *before* this batch's bytes are added, the offset
  index gets (this batch's last offset, this batch's position) and the time index gets
  (largest timestamp so far, its shallow offset). `onBecomeInactiveSegment` (roll), `close` and
  the end of `recover` append the final (largest timestamp, shallow offset) entry to the time
  index, and the indexes are trimmed to their entries (`trimToValidSize`).
- storage/.../log/TimeIndex.java, `maybeAppend`: an entry is written only when its timestamp is
  greater than the last entry's (so timestamps strictly increase; a segment without timestamps
  has an empty time index); `lookup`: the entry with the largest timestamp <= target, else
  (-1, base offset). Entries are 12 bytes: i64 timestamp, u32 offset relative to the base.
- storage/.../log/OffsetIndex.java, `append`: offsets strictly increase; `lookup`: the entry with
  the largest offset <= target, else (base offset, position 0). Entries are 8 bytes: u32 relative
  offset, u32 position. `sanityCheck`: the file size is a multiple of the entry size.
- storage/.../log/AbstractIndex.java: an existing index file is taken as full of entries up to its
  size (`createMappedBuffer` sets the position to the rounded-down limit), so a preallocated zero
  tail would be read as entries: a closed segment's index must be trimmed.
- storage/.../log/LogSegment.java `findOffsetByTimestamp` with clients/.../record/FileRecords.java
  `searchForTimestamp`: time index lookup, offset index lookup of max(that offset, starting
  offset), then a scan from that position for the first batch whose maxTimestamp >= target and
  its first record with timestamp >= target and offset >= the starting offset.
- core/src/main/scala/kafka/tools/DumpLogSegments.scala `dumpIndex` ("Index mismatch": the batch at
  an entry's position must have lastOffset == the entry's offset) and `dumpTimeIndex` (the batch
  whose lastOffset equals the entry's offset must exist, its largest record timestamp must equal
  the entry's, and entry timestamps must increase).
"""
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OFFSET_ENTRY = 8
TIME_ENTRY = 12
NO_TIMESTAMP = -1
MAX_FINDINGS_PER_SEGMENT = 40


def ensure_kafka_python():
    """Imports kafka-python, re-running this script in the clients' venv when it is missing."""
    try:
        import kafka.record.default_records  # noqa: F401
        return
    except ImportError:
        if os.environ.get("SPOOL_INTEROP_VENV_ACTIVE") == "1":
            raise
    python = subprocess.run([os.path.join(HERE, "ensure-python-clients.sh")], check=True,
                            stdout=subprocess.PIPE, text=True).stdout.strip()
    env = dict(os.environ, SPOOL_INTEROP_VENV_ACTIVE="1")
    os.execve(python, [python, os.path.abspath(__file__)] + sys.argv[1:], env)


class Batch:
    """One batch of the log: its position, size, offsets, header maxTimestamp and records'
    (offset, timestamp) as a Kafka consumer sees them (LogAppendTime batches take maxTimestamp)."""

    def __init__(self, position, data):
        from kafka.record.default_records import DefaultRecordBatch
        self.position = position
        self.size = len(data)
        self.base_offset, = struct.unpack_from(">q", data, 0)
        self.last_offset = self.base_offset + struct.unpack_from(">i", data, 23)[0]
        self.max_timestamp, = struct.unpack_from(">q", data, 35)
        decoded = DefaultRecordBatch(bytes(data))
        if not decoded.validate_crc():
            raise ValueError(f"CRC mismatch in the batch at position {position} (offset {self.base_offset})")
        self.records = [(r.offset, r.timestamp) for r in decoded]


def read_log(path, active):
    """The segment's batches; trailing bytes are a finding unless `active` and all zero."""
    data = open(path, "rb").read()
    batches, findings, position = [], [], 0
    while position + 12 <= len(data):
        length, = struct.unpack_from(">i", data, position + 8)
        if length <= 0 or position + 12 + length > len(data):
            break
        batches.append(Batch(position, data[position:position + 12 + length]))
        position += 12 + length
    rest = data[position:]
    if rest and not (active and not any(rest)):
        findings.append(f"{path}: {len(rest)} bytes after the last whole batch at position {position} "
                        f"({'all zero: an untrimmed preallocated tail' if not any(rest) else 'not a batch'})")
    return batches, findings


def read_entries(path, size, layout):
    """(entries, findings): the entries of an index file; a size that is not a multiple of the
    entry size is a finding (Kafka's sanityCheck), as is an all-zero entry (a zero tail)."""
    if not os.path.exists(path):
        return [], [f"{path}: missing"]
    data = open(path, "rb").read()
    findings = []
    if len(data) % size:
        findings.append(f"{path}: {len(data)} bytes is not a multiple of the {size}-byte entry size "
                        "(Kafka's sanityCheck refuses it)")
    count = len(data) // size
    used = count
    while used > 0 and not any(data[(used - 1) * size:used * size]):
        used -= 1
    if used < count:
        # Reported once; the entries before it are checked as Kafka's DumpLogSegments does
        # (it stops at the first zero entry after the first).
        findings.append(f"{path}: {count - used} all-zero entries at the end, from entry {used} on: an "
                        "untrimmed preallocated tail, which Kafka reads as entries (AbstractIndex keeps "
                        "every entry up to the file size)")
    return [struct.unpack_from(layout, data, n * size) for n in range(used)], findings


def kafka_expected(batches, interval, closed):
    """The entries Kafka's LogSegment.recover (or an uninterrupted run of LogSegment.append, then a
    roll or close) writes for these batches."""
    offsets, times = [], []
    max_ts, max_offset = NO_TIMESTAMP, None
    last_time = NO_TIMESTAMP
    last_entry_position = 0

    def maybe_append_time():
        nonlocal last_time
        if max_offset is not None and max_ts > last_time:
            times.append((max_ts, max_offset))
            last_time = max_ts

    for batch in batches:
        if batch.max_timestamp > max_ts:
            max_ts, max_offset = batch.max_timestamp, batch.last_offset
        if batch.position - last_entry_position > interval:
            if not offsets or batch.last_offset > offsets[-1][0]:
                offsets.append((batch.last_offset, batch.position))
            maybe_append_time()
            last_entry_position = batch.position
    if closed:
        maybe_append_time()
    return offsets, times


def check_offset_index(path, entries, base, batches, interval):
    findings = []
    by_position = {b.position: b for b in batches}
    previous = None
    for n, (relative, position) in enumerate(entries):
        offset = base + relative
        if previous and (relative <= previous[0] or position <= previous[1]):
            findings.append(f"{path}: entry {n} ({offset} -> {position}) does not increase after "
                            f"({base + previous[0]} -> {previous[1]})")
        batch = by_position.get(position)
        if batch is None:
            findings.append(f"{path}: entry {n} ({offset} -> {position}): no batch starts at position {position}")
        elif batch.last_offset != offset:
            findings.append(f"{path}: entry {n}: Index mismatch (DumpLogSegments): the batch at position "
                            f"{position} has last offset {batch.last_offset}, the entry says {offset}")
        gap_from = previous[1] if previous else 0
        if position - gap_from <= interval:
            findings.append(f"{path}: entry {n} at position {position} is only {position - gap_from} bytes after "
                            f"{'the previous entry' if previous else 'the segment start'}; Kafka writes an entry "
                            f"only when more than {interval} bytes lie between")
        previous = (relative, position)
    return findings


def check_time_index(path, entries, base, batches, closed):
    """Each entry must be what LogSegment would write at some batch: (largest batch maxTimestamp
    so far, last offset of the first batch that reached it); the last one, for a closed segment,
    the segment's largest timestamp."""
    findings = []
    running, first_reaching = NO_TIMESTAMP, {}
    by_last = {b.last_offset: b for b in batches}
    for batch in batches:
        if batch.max_timestamp > running:
            running = batch.max_timestamp
            first_reaching[batch.last_offset] = running
        record_max = max((t for _, t in batch.records), default=NO_TIMESTAMP)
        if batch.records and record_max != batch.max_timestamp:
            findings.append(f"{path}: the batch at position {batch.position} has maxTimestamp "
                            f"{batch.max_timestamp} but its largest record timestamp is {record_max}")
    previous = None
    for n, (timestamp, relative) in enumerate(entries):
        offset = base + relative
        if previous and (timestamp <= previous[0] or relative <= previous[1]):
            findings.append(f"{path}: entry {n} ({timestamp}, {offset}) does not increase after "
                            f"({previous[0]}, {base + previous[1]})")
        batch = by_last.get(offset)
        if batch is None:
            findings.append(f"{path}: entry {n} ({timestamp}, {offset}): no batch ends at offset {offset} "
                            "(DumpLogSegments: shallow offset not found)")
        elif first_reaching.get(offset) != timestamp:
            why = (f"the batch ending there first reached the largest timestamp {first_reaching[offset]}"
                   if offset in first_reaching else
                   "no batch ending there raised the largest timestamp so far (Kafka pairs a timestamp "
                   "with the last offset of the first batch that reached it)")
            findings.append(f"{path}: entry {n} ({timestamp}, {offset}) is not what LogSegment.append writes: {why}")
        previous = (timestamp, relative)
    if closed and running > NO_TIMESTAMP:
        final_offset = max(o for o, t in first_reaching.items() if t == running)
        if not entries or (entries[-1][0], base + entries[-1][1]) != (running, final_offset):
            findings.append(f"{path}: the last entry is {describe(entries[-1], base) if entries else 'missing'}; "
                            f"a rolled or closed segment ends with ({running}, {final_offset}), its largest "
                            "timestamp (LogSegment.onBecomeInactiveSegment / close)")
    return findings


def describe(entry, base):
    return f"({entry[0]}, {base + entry[1]})"


def lookup(entries, key_index, target):
    """The entry with the largest key <= target, or None (AbstractIndex.largestLowerBoundSlotFor)."""
    found = None
    for entry in entries:
        if entry[key_index] <= target:
            found = entry
        else:
            break
    return found


def kafka_find_offset_by_timestamp(target, base, offset_entries, time_entries, batches):
    """LogSegment.findOffsetByTimestamp(target, startingOffset = base): (offset or None, findings)."""
    entry = lookup(time_entries, 0, target)
    time_offset = base + entry[1] if entry else base
    offset_entry = lookup([(base + r, p) for r, p in offset_entries], 0, max(time_offset, base))
    position = offset_entry[1] if offset_entry else 0
    start = next((n for n, b in enumerate(batches) if b.position == position), None)
    if start is None:
        return None, f"the offset index points at position {position}, where no batch starts"
    for batch in batches[start:]:
        if batch.max_timestamp >= target:
            for offset, timestamp in batch.records:
                if timestamp >= target and offset >= base:
                    return offset, None
    return None, None


def check_lookups(path, base, offset_entries, time_entries, batches):
    records = [r for b in batches for r in b.records]
    if not records:
        return []
    targets = sorted({t for _, t in records} | {min(t for _, t in records) - 1, max(t for _, t in records) + 1})
    wrong = []
    for target in targets:
        want = next((o for o, t in records if t >= target), None)
        got, problem = kafka_find_offset_by_timestamp(target, base, offset_entries, time_entries, batches)
        if problem or got != want:
            wrong.append(f"timestamp {target}: Kafka's lookup gives {problem or got}, the first record at or "
                         f"after it is offset {want}")
    if not wrong:
        return []
    shown = "; ".join(wrong[:5]) + ("; …" if len(wrong) > 5 else "")
    return [f"{path}: findOffsetByTimestamp is wrong for {len(wrong)} of {len(targets)} timestamps: {shown}"]


def check_segment(log_path, interval=4096, exact=False, active=False):
    """Every finding for one segment and its two index files (empty when clean)."""
    name = os.path.basename(log_path)
    stem = name[:-len(".log")] if name.endswith(".log") else ""
    if len(stem) != 20 or not stem.isdigit():
        raise ValueError(f"{log_path}: a segment is named <20-digit base offset>.log")
    base = int(stem)
    directory = os.path.dirname(os.path.abspath(log_path))
    index_path = os.path.join(directory, stem + ".index")
    time_path = os.path.join(directory, stem + ".timeindex")
    batches, findings = read_log(log_path, active)
    if batches and batches[0].base_offset != base:
        findings.append(f"{log_path}: the first batch starts at offset {batches[0].base_offset}, the name says {base}")
    offset_entries, f1 = read_entries(index_path, OFFSET_ENTRY, ">II")
    time_entries, f2 = read_entries(time_path, TIME_ENTRY, ">qI")
    findings += f1 + f2
    findings += check_offset_index(index_path, offset_entries, base, batches, interval)
    findings += check_time_index(time_path, time_entries, base, batches, not active)
    findings += check_lookups(time_path, base, offset_entries, time_entries, batches)
    if exact:
        want_offsets, want_times = kafka_expected(batches, interval, not active)
        got_offsets = [(base + r, p) for r, p in offset_entries]
        got_times = [(t, base + r) for t, r in time_entries]
        if got_offsets != want_offsets:
            findings.append(f"{index_path}: entries {got_offsets[:8]}{'…' if len(got_offsets) > 8 else ''} "
                            f"(offset, position); Kafka's LogSegment.recover at {interval} B writes "
                            f"{want_offsets[:8]}{'…' if len(want_offsets) > 8 else ''}")
        if got_times != want_times:
            findings.append(f"{time_path}: entries {got_times[:8]}{'…' if len(got_times) > 8 else ''} "
                            f"(timestamp, offset); Kafka's LogSegment.recover at {interval} B, then close, writes "
                            f"{want_times[:8]}{'…' if len(want_times) > 8 else ''}")
    if len(findings) > MAX_FINDINGS_PER_SEGMENT:
        more = len(findings) - MAX_FINDINGS_PER_SEGMENT
        findings = findings[:MAX_FINDINGS_PER_SEGMENT] + [f"{log_path}: … and {more} more finding(s)"]
    return findings, len(batches)


# ---------------------------------------------------------------------------------------------
# Self-test: a hand-made segment with hand-derived indexes, and wrong ones


SELF_TEST_BASE = 100
BATCH_BYTES = 1500
# Largest timestamp of each of twelve 10-record batches: a spike (batch 2), a new high (6), a
# later high (10) and a late batch (11) whose timestamps are older than all before it.
BATCH_MAX = [1100, 1200, 1900, 1300, 1400, 1500, 1950, 1600, 1700, 1800, 2000, 1050]


def self_test_segment(directory):
    """Twelve batches of exactly 1500 B, 10 records each, offsets 100..219, at positions 1500*k."""
    from kafka.record.default_records import DefaultRecordBatchBuilder
    data = bytearray()
    for k, top in enumerate(BATCH_MAX):
        pad = 1200
        for _ in range(4):  # converges in two tries: a varint may grow by a byte
            builder = DefaultRecordBatchBuilder(2, 0, False, -1, -1, -1, 1 << 20)
            for i in range(10):
                value = b"v" * (pad if i == 9 else 1)
                builder.append(i, timestamp=top - 9 + i, key=None, value=value, headers=[])
            batch = bytearray(builder.build())
            if len(batch) == BATCH_BYTES:
                break
            pad += BATCH_BYTES - len(batch)
        assert len(batch) == BATCH_BYTES, len(batch)
        struct.pack_into(">q", batch, 0, SELF_TEST_BASE + 10 * k)
        data += batch
    path = os.path.join(directory, f"{SELF_TEST_BASE:020d}.log")
    open(path, "wb").write(data)
    return path


def write_indexes(log_path, offsets, times, tail=b""):
    stem = log_path[:-len(".log")]
    with open(stem + ".index", "wb") as f:
        for offset, position in offsets:
            f.write(struct.pack(">II", offset - SELF_TEST_BASE, position))
        f.write(tail)
    with open(stem + ".timeindex", "wb") as f:
        for timestamp, offset in times:
            f.write(struct.pack(">qI", timestamp, offset - SELF_TEST_BASE))


def self_test():
    """Builds the segment, writes its correct indexes (derived by hand below, not by
    kafka_expected) and five wrong ones, and checks each verdict."""
    # By hand, at 4096 B: batches start at 1500*k; an entry goes to the first batch more than
    # 4096 B after the last entry's batch (or 0): batches 3 (4500), 6 (9000), 9 (13500). Last
    # offsets are 109 + 10k. Time entries at those batches: the largest timestamp so far with the
    # last offset of the batch that first reached it: at batch 3, 1900 from batch 2 (offset 129);
    # at batch 6, 1950 from batch 6 (offset 169); at batch 9 still 1950 (not greater: none); at
    # close, 2000 from batch 10 (offset 209).
    correct_offsets = [(139, 4500), (169, 9000), (199, 13500)]
    correct_times = [(1900, 129), (1950, 169), (2000, 209)]
    cases = [
        ("correct", correct_offsets, correct_times, b"", []),
        ("offset index keyed by base offsets (Spool's old meaning)",
         [(130, 4500), (160, 9000), (190, 13500)], correct_times, b"", ["Index mismatch"]),
        ("time index of the largest timestamp before each batch with its base offset (Spool's old meaning)",
         correct_offsets, [(1900, 130), (1900, 160), (1950, 190)],
         b"", ["shallow offset not found", "findOffsetByTimestamp is wrong"]),
        ("time index paired with the offset of the indexed batch, not of the batch that reached the maximum",
         correct_offsets, [(1900, 139), (1950, 169), (2000, 209)], b"", ["is not what LogSegment.append writes"]),
        ("time index without the final entry of close", correct_offsets, correct_times[:2], b"",
         ["a rolled or closed segment ends with (2000, 209)"]),
        ("offset index with a zero tail", correct_offsets, correct_times, bytes(16), ["all-zero entries at the end"]),
        ("offset index entry too close to the previous", [(139, 4500), (149, 6000), (169, 9000), (199, 13500)],
         correct_times, b"", ["only 1500 bytes after"]),
    ]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="kafka-index-check.") as directory:
        log_path = self_test_segment(directory)
        expected_offsets, expected_times = kafka_expected(read_log(log_path, False)[0], 4096, True)
        if (expected_offsets, expected_times) != (correct_offsets, correct_times):
            print(f"self-test FAILED: the simulation of LogSegment.recover gives {expected_offsets} and "
                  f"{expected_times}, the hand-derived entries are {correct_offsets} and {correct_times}")
            failures += 1
        for label, offsets, times, tail, wanted in cases:
            write_indexes(log_path, offsets, times, tail)
            findings, _ = check_segment(log_path, exact=True)
            missing = [w for w in wanted if not any(w in f for f in findings)]
            ok = (not findings) if not wanted else (not missing)
            print(f"self-test {'ok' if ok else 'FAILED'}: {label}: {len(findings)} finding(s)"
                  + (f", missing {missing}" if missing else ""))
            for finding in findings if not ok else []:
                print("    " + finding)
            failures += 0 if ok else 1
    print("self-test passed" if not failures else f"self-test: {failures} case(s) failed")
    return 1 if failures else 0


def main(argv):
    if argv == ["--self-test"]:
        ensure_kafka_python()
        return self_test()
    args, interval, exact, active = [], 4096, False, False
    it = iter(argv)
    for arg in it:
        if arg == "--index-interval-bytes":
            interval = int(next(it, "x"))
        elif arg == "--exact":
            exact = True
        elif arg == "--active":
            active = True
        elif arg.startswith("-"):
            print(f"unknown option {arg}\n{__doc__.splitlines()[2]}", file=sys.stderr)
            return 2
        else:
            args.append(arg)
    if not args:
        print("usage: kafka-index-check.py SEGMENT.log... [--index-interval-bytes N] [--exact] [--active] | --self-test",
              file=sys.stderr)
        return 2
    ensure_kafka_python()
    total = 0
    for path in args:
        try:
            findings, count = check_segment(path, interval, exact, active)
        except (OSError, ValueError) as error:
            print(f"kafka-index-check: {error}", file=sys.stderr)
            return 2
        for finding in findings:
            print(finding)
        total += len(findings)
        if not findings:
            print(f"clean: {path}: {count} batches; .index and .timeindex mean what Kafka's do")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
