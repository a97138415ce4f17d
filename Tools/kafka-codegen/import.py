#!/usr/bin/env python3
"""Writes the project's protocol spec (Sources/SpoolKafkaProtocol/kafka-protocol.spec) from
Apache Kafka's published message definitions (clients/src/main/resources/common/message/*.json).

Only the subset Spool speaks is kept, and only the facts the codec needs: field names, types,
versions, nullable versions, tags, defaults, ignorable. Kafka's prose and comments are dropped.
Run it when adding an API or a version; then review the diff of the spec, edit it by hand where
needed (the spec, not Kafka's files, is the source of truth), and run generate.py.

    Tools/kafka-codegen/import.py KAFKA_MESSAGE_DIR [--source DESCRIPTION] > spec
    e.g. (with a checkout): Tools/kafka-codegen/import.py kafka/clients/src/main/resources/common/message
"""
import json, os, re, sys

# The APIs Spool speaks (issue 16), in API-key order of appearance in the spec.
APIS = ["ApiVersions", "Metadata", "CreateTopics", "DeleteTopics", "Produce", "Fetch", "ListOffsets",
        "FindCoordinator", "JoinGroup", "SyncGroup", "Heartbeat", "LeaveGroup", "OffsetCommit",
        "OffsetFetch", "ListGroups", "DescribeGroups", "ShareGroupHeartbeat", "ShareFetch",
        "ShareAcknowledge", "ShareGroupDescribe"]
HEADERS = ["RequestHeader", "ResponseHeader"]


def load(directory, name):
    with open(os.path.join(directory, name + ".json")) as f:
        text = "\n".join(line for line in f if not line.lstrip().startswith("//"))
    return json.loads(text)


def quote(value):
    value = str(value)
    if value == "" or re.search(r'[\s"]', value):
        return '"' + value.replace('"', '\\"') + '"'
    return value


def field_line(field, indent):
    parts = [field["name"], field["type"], field.get("versions", "0+")]
    if "nullableVersions" in field:
        parts.append("nullable=" + field["nullableVersions"])
    if "tag" in field:
        parts.append("tag=%d" % field["tag"])
        parts.append("tagged=" + field.get("taggedVersions", field.get("versions")))
    if "default" in field:
        parts.append("default=" + quote(field["default"]))
    if field.get("ignorable"):
        parts.append("ignorable")
    if "flexibleVersions" in field:
        parts.append("flexible=" + field["flexibleVersions"])
    lines = ["  " * indent + " ".join(parts)]
    for child in field.get("fields", []):
        lines += field_line(child, indent + 1)
    return lines


def message_lines(doc, kind, short):
    head = "%s %s" % (kind, short)
    if "apiKey" in doc:
        head += " key=%d" % doc["apiKey"]
    head += " versions=%s flexible=%s" % (doc["validVersions"], doc.get("flexibleVersions", "none"))
    lines = [head]
    for field in doc["fields"]:
        lines += field_line(field, 1)
    for common in doc.get("commonStructs", []):
        lines.append("  common %s versions=%s" % (common["name"], common.get("versions", "0+")))
        for field in common["fields"]:
            lines += field_line(field, 2)
    return lines


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    directory = args[0]
    source = args[args.index("--source") + 1] if "--source" in args else directory
    out = ["# Spool's description of the subset of Kafka's wire protocol it speaks.",
           "# Imported from Kafka's message definitions (%s) by Tools/kafka-codegen/import.py," % source,
           "# then kept by hand: this file is the source of truth for Tools/kafka-codegen/generate.py.",
           "# Line: Name type versions [nullable=R] [tag=N tagged=R] [default=V] [ignorable] [flexible=R]",
           ""]
    for name in HEADERS:
        out += message_lines(load(directory, name), "header", name) + [""]
    for api in APIS:
        out += message_lines(load(directory, api + "Request"), "request", api)
        out += message_lines(load(directory, api + "Response"), "response", api) + [""]
    print("\n".join(out).rstrip())


if __name__ == "__main__":
    main()
