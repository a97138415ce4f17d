#!/usr/bin/env python3
"""Captures the request frames that real Kafka clients send, for fixtures/kafka-protocol/.

Listens on 127.0.0.1 (ephemeral port), runs each client scenario below as a subprocess against
it, and records the frames each scenario sends (up to two distinct ones per API version), size
prefix included. It answers with canned responses from fixtures/kafka-protocol/responses/, which are
SpoolKafkaProtocol's own output (Tests/SpoolKafkaProtocolTests/CannedResponses.swift writes them
with SPOOL_KAFKA_WRITE_CANNED=1), patching in the request's correlation id and this listener's
port. Requests it has no answer for are recorded, then the connection is closed.

    python3 -m venv .venv-kafka && .venv-kafka/bin/pip install kafka-python confluent-kafka aiokafka
    Tools/capture-kafka-requests.py [--python .venv-kafka/bin/python] [--out fixtures/kafka-protocol]

Writes <out>/requests/<scenario>/NN-<Api>-v<V>.bin and <out>/requests/manifest.json (client
versions, and for each frame its API key, version, correlation id and client id as this script
parsed them: an independent reading the Swift tests compare with).
"""
import argparse, json, os, platform, shutil, socket, struct, subprocess, sys, threading

API_NAMES = {0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit", 9: "OffsetFetch",
             10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup",
             15: "DescribeGroups", 16: "ListGroups", 18: "ApiVersions", 19: "CreateTopics", 20: "DeleteTopics",
             22: "InitProducerId", 76: "ShareGroupHeartbeat", 77: "ShareGroupDescribe", 78: "ShareFetch",
             79: "ShareAcknowledge"}
PORT_PLACEHOLDER = struct.pack(">i", 0x5EED5EED)
MAX_FRAMES_PER_SCENARIO = 20
MAX_FRAMES_PER_API = 2
CLIENT_TIMEOUT = 30

SCENARIOS = {
    "kafka-python-producer": """
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=BOOT, client_id='spool-capture-kafka-python', acks=1, linger_ms=0, retries=0)
p.send('spool-capture', key=b'key-1', value=b'hello from kafka-python', headers=[('h', b'v')]).get(timeout=10)
p.close(timeout=5)
print('produced')
""",
    "kafka-python-consumer": """
from kafka import KafkaConsumer, TopicPartition
c = KafkaConsumer(bootstrap_servers=BOOT, client_id='spool-capture-kafka-python', group_id=None,
                  enable_auto_commit=False, auto_offset_reset='earliest', consumer_timeout_ms=10000)
tp = TopicPartition('spool-capture', 0)
c.assign([tp])
c.seek_to_beginning(tp)
print('consumed', next(c).value)
c.close()
""",
    "librdkafka-producer": """
from confluent_kafka import Producer
p = Producer({'bootstrap.servers': BOOT, 'client.id': 'spool-capture-librdkafka', 'acks': 'all', 'linger.ms': 0})
p.produce('spool-capture', key=b'key-1', value=b'hello from librdkafka', headers=[('h', b'v')])
assert p.flush(15) == 0, 'not delivered'
print('produced')
""",
    "librdkafka-consumer": """
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
c = Consumer({'bootstrap.servers': BOOT, 'client.id': 'spool-capture-librdkafka', 'group.id': 'spool-capture-group',
              'enable.auto.commit': False})
c.assign([TopicPartition('spool-capture', 0, OFFSET_BEGINNING)])
m = None
for _ in range(30):
    m = c.poll(0.5)
    if m is not None and m.error() is None:
        break
print('consumed', m.value() if m is not None and m.error() is None else m)
c.close()
""",
    "aiokafka-producer": """
import asyncio
from aiokafka import AIOKafkaProducer
async def main():
    p = AIOKafkaProducer(bootstrap_servers=BOOT, client_id='spool-capture-aiokafka', acks=1)
    await p.start()
    try:
        await asyncio.wait_for(p.send_and_wait('spool-capture', b'hello from aiokafka', key=b'key-1', headers=[('h', b'v')]), 10)
    finally:
        await p.stop()
asyncio.run(main())
print('produced')
""",
    "aiokafka-consumer": """
import asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition
async def main():
    c = AIOKafkaConsumer(bootstrap_servers=BOOT, client_id='spool-capture-aiokafka', enable_auto_commit=False,
                         auto_offset_reset='earliest')
    await c.start()
    try:
        tp = TopicPartition('spool-capture', 0)
        c.assign([tp])
        await c.seek_to_beginning(tp)
        m = await asyncio.wait_for(c.getone(), 10)
        print('consumed', m.value)
    finally:
        await c.stop()
asyncio.run(main())
""",
}

# Classic consumer groups: subscribe, read the canned batch, commit it, leave. The canned
# JoinGroup makes the client a follower, so SyncGroup hands it partition 0.
SCENARIOS.update({
    "kafka-python-group": """
from kafka import KafkaConsumer
c = KafkaConsumer('spool-capture', bootstrap_servers=BOOT, client_id='spool-capture-kafka-python', group_id='spool-capture-group',
                  enable_auto_commit=False, auto_offset_reset='earliest', consumer_timeout_ms=15000)
m = next(c)
c.commit()
print('consumed', m.value)
c.close()
""",
    "librdkafka-group": """
from confluent_kafka import Consumer
c = Consumer({'bootstrap.servers': BOOT, 'client.id': 'spool-capture-librdkafka', 'group.id': 'spool-capture-group',
              'enable.auto.commit': False, 'auto.offset.reset': 'earliest'})
c.subscribe(['spool-capture'])
m = None
for _ in range(40):
    m = c.poll(0.5)
    if m is not None and m.error() is None:
        break
c.commit(message=m, asynchronous=False)
print('consumed', m.value() if m is not None and m.error() is None else m)
c.close()
""",
    "aiokafka-group": """
import asyncio
from aiokafka import AIOKafkaConsumer
async def main():
    c = AIOKafkaConsumer('spool-capture', bootstrap_servers=BOOT, client_id='spool-capture-aiokafka', group_id='spool-capture-group',
                         enable_auto_commit=False, auto_offset_reset='earliest')
    await c.start()
    try:
        m = await asyncio.wait_for(c.getone(), 15)
        await c.commit()
        print('consumed', m.value)
    finally:
        await c.stop()
asyncio.run(main())
""",
})

# Admin: create a topic, list groups, describe the group, delete the topic. Each script checks
# that it read the canned answers (the group and its member) before printing "admin done".
SCENARIOS.update({
    "kafka-python-admin": """
from kafka.admin import KafkaAdminClient, NewTopic
a = KafkaAdminClient(bootstrap_servers=BOOT, client_id='spool-capture-kafka-python')
a.create_topics([NewTopic('spool-capture-admin', 1, 1)])
groups = a.list_groups()
assert 'spool-capture-group' in str(groups), groups
desc = a.describe_groups(['spool-capture-group'])
assert 'spool-member-1' in str(desc), desc
a.delete_topics(['spool-capture-admin'])
a.close()
print('admin done')
""",
    "librdkafka-admin": """
from confluent_kafka.admin import AdminClient, NewTopic
a = AdminClient({'bootstrap.servers': BOOT, 'client.id': 'spool-capture-librdkafka'})
for f in a.create_topics([NewTopic('spool-capture-admin', num_partitions=1, replication_factor=1)], operation_timeout=5).values():
    f.result(10)
groups = a.list_consumer_groups(request_timeout=10).result(10)
assert [g.group_id for g in groups.valid] == ['spool-capture-group'], groups.valid
desc = a.describe_consumer_groups(['spool-capture-group'], request_timeout=10)['spool-capture-group'].result(10)
assert [m.member_id for m in desc.members] == ['spool-member-1'], desc
for f in a.delete_topics(['spool-capture-admin'], operation_timeout=5).values():
    f.result(10)
print('admin done')
""",
    "aiokafka-admin": """
import asyncio
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
async def main():
    a = AIOKafkaAdminClient(bootstrap_servers=BOOT, client_id='spool-capture-aiokafka')
    await a.start()
    try:
        await a.create_topics([NewTopic('spool-capture-admin', 1, 1)])
        groups = await a.list_consumer_groups()
        assert 'spool-capture-group' in str(groups), groups
        desc = await a.describe_consumer_groups(['spool-capture-group'])
        assert 'spool-member-1' in str(desc), desc
        await a.delete_topics(['spool-capture-admin'])
    finally:
        await a.close()
asyncio.run(main())
print('admin done')
""",
})

# Share group (KIP-932): subscribe, acknowledge (ACCEPT) each record of the canned batch,
# commit the acknowledgements, leave.
SCENARIOS["librdkafka-share"] = """
from confluent_kafka import ShareConsumer
c = ShareConsumer({'bootstrap.servers': BOOT, 'client.id': 'spool-capture-librdkafka', 'group.id': 'spool-capture-share',
                   'share.acknowledgement.mode': 'explicit'})
c.subscribe(['spool-capture'])
values = []
for _ in range(20):
    for m in c.poll(0.5) or []:
        if m.error() is None:
            values.append(m.value())
            c.acknowledge(m)
    if values:
        break
c.commit_sync(10)
print('consumed', values, flush=True)
c.close()
"""

VERSION_PROBE = """
import importlib.metadata as m, json
out = {}
for name in ('kafka-python', 'confluent-kafka', 'aiokafka'):
    try: out[name] = m.version(name)
    except m.PackageNotFoundError: pass
try:
    import confluent_kafka; out['librdkafka'] = confluent_kafka.libversion()[0]
except ImportError: pass
print(json.dumps(out))
"""


class Recorder:
    """Frames seen while one scenario runs; shared by the connection threads."""

    def __init__(self, responses, port):
        self.responses, self.port = responses, port
        self.lock = threading.Lock()
        self.frames = []
        self.seen = set()

    def record(self, frame):
        """Keeps frames that differ in more than their correlation id, at most
        MAX_FRAMES_PER_API of each (API, version) and MAX_FRAMES_PER_SCENARIO in all."""
        api, version, _ = struct.unpack(">hhi", frame[4:12])
        content = frame[:8] + frame[12:]
        with self.lock:
            same_api = sum(1 for f in self.frames if f[4:8] == frame[4:8])
            if content in self.seen or same_api >= MAX_FRAMES_PER_API or len(self.frames) >= MAX_FRAMES_PER_SCENARIO:
                return
            self.seen.add(content)
            self.frames.append(frame)

    def answer(self, frame):
        api, version, correlation = struct.unpack(">hhi", frame[4:12])
        path = os.path.join(self.responses, "%s-v%d.bin" % (API_NAMES.get(api, "api%d" % api), version))
        if not os.path.exists(path):
            return None
        with open(path, "rb") as f:
            response = bytearray(f.read())
        response[4:8] = struct.pack(">i", correlation)
        at = response.find(PORT_PLACEHOLDER)
        if at >= 0:
            response[at:at + 4] = struct.pack(">i", self.port)
        return bytes(response)


def read_exactly(conn, count):
    data = b""
    while len(data) < count:
        try:
            chunk = conn.recv(count - len(data))
        except OSError:  # reset by the client
            return None
        if not chunk:
            return None
        data += chunk
    return data


def serve_connection(conn, state):
    with conn:
        while True:
            prefix = read_exactly(conn, 4)
            if prefix is None:
                return
            size = struct.unpack(">i", prefix)[0]
            if size < 8 or size > 1 << 20:
                return
            body = read_exactly(conn, size)
            if body is None:
                return
            recorder = state["recorder"]
            frame = prefix + body
            recorder.record(frame)
            response = recorder.answer(frame)
            if response is None:
                return
            try:
                conn.sendall(response)
            except OSError:  # the client hung up first (closing consumers do)
                return


def accept_loop(server, state):
    while True:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        threading.Thread(target=serve_connection, args=(conn, state), daemon=True).start()


def client_id(frame):
    length = struct.unpack(">h", frame[12:14])[0]
    return None if length < 0 else frame[14:14 + length].decode()


def main():
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--python", default=os.path.join(top, ".venv-kafka/bin/python"))
    parser.add_argument("--out", default=os.path.join(top, "fixtures/kafka-protocol"))
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS))
    args = parser.parse_args()
    responses = os.path.join(args.out, "responses")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    port = server.getsockname()[1]
    state = {"recorder": Recorder(responses, port)}
    threading.Thread(target=accept_loop, args=(server, state), daemon=True).start()
    versions = json.loads(subprocess.run([args.python, "-c", VERSION_PROBE], check=True, capture_output=True, text=True).stdout)
    manifest = {"clients": versions, "python": platform.python_version(), "scenarios": {}}
    for name in args.scenarios:
        state["recorder"] = recorder = Recorder(responses, port)
        script = "BOOT = '127.0.0.1:%d'\n" % port + SCENARIOS[name]
        exit_code = None
        try:
            run = subprocess.run([args.python, "-c", script], capture_output=True, text=True, timeout=CLIENT_TIMEOUT)
            outcome = run.stdout.strip().splitlines()[-1:] or run.stderr.strip().splitlines()[-1:]
            outcome = outcome[0] if outcome else "exit %d" % run.returncode
            exit_code = run.returncode
        except subprocess.TimeoutExpired:
            outcome = "timed out after %ds" % CLIENT_TIMEOUT
        folder = os.path.join(args.out, "requests", name)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        entries = []
        with recorder.lock:
            frames = list(recorder.frames)
        for index, frame in enumerate(frames):
            api, version, correlation = struct.unpack(">hhi", frame[4:12])
            file = "%02d-%s-v%d.bin" % (index, API_NAMES.get(api, "api%d" % api), version)
            with open(os.path.join(folder, file), "wb") as f:
                f.write(frame)
            entries.append({"file": file, "api_key": api, "api_version": version, "correlation_id": correlation,
                            "client_id": client_id(frame), "answered": recorder.answer(frame) is not None})
        manifest["scenarios"][name] = {"outcome": outcome, "exit_code": exit_code, "frames": entries}
        print("%-24s %-40s %s" % (name, outcome[:40], " ".join(e["file"][3:-4] for e in entries)))
    server.close()
    with open(os.path.join(args.out, "requests", "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
