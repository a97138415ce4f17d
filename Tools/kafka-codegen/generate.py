#!/usr/bin/env python3
"""Generates the Swift codecs of SpoolKafkaProtocol from the project's spec.

    Tools/kafka-codegen/generate.py            # reads Sources/SpoolKafkaProtocol/kafka-protocol.spec,
                                               # rewrites Sources/SpoolKafkaProtocol/Generated/*.swift
    Tools/kafka-codegen/generate.py --check    # exits 1 when the committed Swift differs (CI, tests)

The spec format is in Sources/SpoolKafkaProtocol/README.md. Each message becomes a struct with
one stored property per field (the union over its versions), `init(from:version:)` and
`encode(into:version:)`; nested and common structs become nested types. Unknown tagged fields are
kept, so a decoded message re-encodes to the same bytes.
"""
import os, re, shlex, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = os.path.join(ROOT, "Sources/SpoolKafkaProtocol/kafka-protocol.spec")
OUT = os.path.join(ROOT, "Sources/SpoolKafkaProtocol/Generated")
# Test support: a random instance of every message at every version, filling exactly the fields
# that version has, for the round-trip tests and the fuzz corpus seeds.
SAMPLES = os.path.join(ROOT, "Tests/SpoolKafkaProtocolTests/Generated")

PRIMITIVES = {"int8": "Int8", "int16": "Int16", "int32": "Int32", "int64": "Int64", "uint16": "UInt16",
              "float64": "Double", "bool": "Bool", "uuid": "KafkaUUID", "string": "String",
              "bytes": "[UInt8]", "records": "[UInt8]"}
FIXED = {"int8": "Int8", "int16": "Int16", "int32": "Int32", "int64": "Int64", "uint16": "UInt16",
         "float64": "Float64", "bool": "Bool", "uuid": "UUID"}
KEYWORDS = {"protocol", "default", "internal", "operator", "repeat", "return", "self", "static",
            "struct", "subscript", "switch", "throw", "true", "false", "nil", "in", "is", "as",
            "case", "class", "enum", "extension", "func", "import", "init", "let", "var", "where",
            "while", "for", "if", "else", "guard", "do", "break", "continue", "public", "private"}


class Versions:
    """A version range from the spec: "3+", "0-4", "5", "none"."""

    def __init__(self, text):
        self.text = text
        if text == "none":
            self.lo, self.hi = None, None
        elif text.endswith("+"):
            self.lo, self.hi = int(text[:-1]), None
        elif "-" in text:
            lo, hi = text.split("-")
            self.lo, self.hi = int(lo), int(hi)
        else:
            self.lo = self.hi = int(text)

    def cond(self, within):
        """A Swift condition on `version`, simplified with the enclosing range `within`."""
        if self.lo is None:
            return "false"
        parts = []
        if self.lo > within.lo:
            parts.append("version >= %d" % self.lo)
        if self.hi is not None and (within.hi is None or self.hi < within.hi):
            parts.append("version <= %d" % self.hi)
        if self.hi is not None and self.hi < within.lo or (within.hi is not None and self.lo > within.hi):
            return "false"
        return " && ".join(parts) if parts else "true"

    def contains_all(self, other):
        if self.lo is None:
            return False
        return self.lo <= other.lo and (self.hi is None or (other.hi is not None and other.hi <= self.hi))


class Field:
    def __init__(self, tokens, line):
        self.name, self.type, versions = tokens[0], tokens[1], tokens[2]
        self.versions = Versions(versions)
        self.nullable = None
        self.tag = None
        self.tagged = None
        self.default = None
        self.ignorable = False
        self.never_flexible = False
        for token in tokens[3:]:
            key, _, value = token.partition("=")
            if key == "nullable": self.nullable = Versions(value)
            elif key == "tag": self.tag = int(value)
            elif key == "tagged": self.tagged = Versions(value)
            elif key == "default": self.default = value
            elif key == "ignorable": self.ignorable = True
            elif key == "flexible":
                if value != "none": sys.exit("line %d: only flexible=none is supported" % line)
                self.never_flexible = True
            else: sys.exit("line %d: unknown attribute %s" % (line, token))
        self.fields = []

    @property
    def prop(self):
        name = self.name[0].lower() + self.name[1:]
        m = re.match(r"^([A-Z]+)([A-Z][a-z].*)$", self.name)
        if m:  # e.g. "ISRNodes" -> "isrNodes"
            name = m.group(1).lower() + m.group(2)
        return "`%s`" % name if name in KEYWORDS else name

    @property
    def plain(self):
        return self.prop.strip("`")

    @property
    def is_array(self):
        return self.type.startswith("[]")

    @property
    def element(self):
        return self.type[2:] if self.is_array else self.type


class Struct:
    def __init__(self, name, versions):
        self.name, self.versions, self.fields = name, versions, []


class Message(Struct):
    def __init__(self, kind, name, key, versions, flexible):
        super().__init__(name, versions)
        self.kind, self.api, self.key, self.flexible = kind, name, key, flexible
        if kind == "request": self.name = name + "Request"
        if kind == "response": self.name = name + "Response"
        self.commons = []


def parse(path):
    messages = []
    stack = []  # (indent, fields list owner)
    with open(path) as f:
        for number, raw in enumerate(f, 1):
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            indent = (len(raw) - len(raw.lstrip(" "))) // 2
            tokens = shlex.split(raw.strip())
            if indent == 0:
                kind, name = tokens[0], tokens[1]
                attrs = dict(t.split("=", 1) for t in tokens[2:])
                message = Message(kind, name, int(attrs["key"]) if "key" in attrs else None,
                                  Versions(attrs["versions"]), Versions(attrs["flexible"]))
                messages.append(message)
                stack = [(0, message)]
                continue
            while stack and stack[-1][0] >= indent:
                stack.pop()
            owner = stack[-1][1]
            if tokens[0] == "common":
                common = Struct(tokens[1], Versions(tokens[2].split("=", 1)[1]))
                messages[-1].commons.append(common)
                stack.append((indent, common))
                continue
            field = Field(tokens, number)
            owner.fields.append(field)
            stack.append((indent, field))
    return messages


def is_struct(type_name):
    return type_name not in PRIMITIVES


def swift_type(field):
    base = PRIMITIVES.get(field.element, field.element)
    t = "[%s]" % base if field.is_array else base
    return t + "?" if optional(field) else t


def optional(field):
    # Nullable fields are optionals; records are always (Kafka's default for them is null).
    return field.nullable is not None or field.type == "records"


def default_expr(field):
    d = field.default
    if optional(field) and (d == "null" or d is None and (field.type == "records" or (is_struct(field.element) and not field.is_array))):
        return "nil"
    if field.is_array:
        return "[]"
    t = field.type
    if t in ("int8", "int16", "int32", "int64", "uint16", "float64"):
        return d if d is not None else "0"
    if t == "bool":
        return d if d is not None else "false"
    if t == "string":
        return '"%s"' % (d or "").replace('"', '\\"')
    if t in ("bytes", "records"):
        return "[]"
    if t == "uuid":
        return "KafkaUUID.zero"
    return "%s()" % t


class Gen:
    def __init__(self, message):
        self.m = message
        self.out = []

    def line(self, depth, text):
        self.out.append("    " * depth + text if text else "")

    # ---- structs ---------------------------------------------------------------------------
    def emit_struct(self, depth, name, fields, path, top):
        m = self.m
        conformances = "KafkaVersionedMessage" if top else "KafkaStruct"
        if top and m.key is not None:
            conformances = "KafkaAPIMessage"
        self.line(depth, "/// %s (generated from kafka-protocol.spec; do not edit)." % path)
        self.line(depth, "public struct %s: %s {" % (name, conformances))
        d = depth + 1
        if top:
            if m.key is not None:
                self.line(d, "public static let apiKey = KafkaAPIKey.%s" % lower(m.api))
            self.line(d, "public static let versions: ClosedRange<Int16> = %d...%d" % (m.versions.lo, m.versions.hi))
            self.line(d, "public static let lowestFlexibleVersion: Int16? = %s" % (m.flexible.lo if m.flexible.lo is not None else "nil"))
        for f in fields:
            kind = "tagged %d in %s" % (f.tag, f.tagged.text) if f.tag is not None else ""
            note = "versions %s%s%s" % (f.versions.text, ", nullable in %s" % f.nullable.text if f.nullable else "",
                                         ", " + kind if kind else "")
            self.line(d, "/// %s: %s." % (f.name, note))
            self.line(d, "public var %s: %s = %s" % (f.prop, swift_type(f), default_expr(f)))
        self.line(d, "/// Tagged fields this codec does not know, kept so that re-encoding gives the same bytes.")
        self.line(d, "public var unknownTaggedFields: [KafkaTaggedField] = []")
        self.line(0, "")
        self.line(d, "public init() {}")
        self.line(0, "")
        self.emit_decode(d, name, fields, path, top)
        self.line(0, "")
        self.emit_encode(d, fields, path, top)
        # Every struct of the message (inline under any field, or common) is a direct nested
        # type of the message, as in Kafka's generated Java, each once.
        if top:
            for struct_name, struct_fields, struct_path in self.nested(fields, path):
                if struct_name not in self.emitted:
                    self.emitted.add(struct_name)
                    self.line(0, "")
                    self.emit_struct(d, struct_name, struct_fields, struct_path, False)
        self.line(depth, "}")

    def nested(self, fields, path):
        for f in fields:
            if is_struct(f.element) and f.fields:
                yield f.element, f.fields, path + "." + f.plain
                yield from self.nested(f.fields, path + "." + f.plain)
        if fields is self.m.fields:
            for c in self.m.commons:
                yield c.name, c.fields, self.m.name + "." + c.name
                yield from self.nested(c.fields, self.m.name + "." + c.name)

    def flex_let(self, d):
        f = self.m.flexible
        if f.lo is None:
            self.line(d, "let flexible = false")
        elif f.lo <= self.m.versions.lo:
            self.line(d, "let flexible = true")
        else:
            self.line(d, "let flexible = version >= %d" % f.lo)

    # ---- decode ----------------------------------------------------------------------------
    def emit_decode(self, d, name, fields, path, top):
        self.line(d, "/// Reads this %s at `version`. Throws `KafkaProtocolError` naming the field and byte position" % ("message" if top else "struct"))
        self.line(d, "/// on truncated, oversized or malformed input%s. Never traps." % (" or an unsupported version" if top else ""))
        self.line(d, "public init(from reader: inout KafkaReader, version: Int16) throws(KafkaProtocolError) {")
        b = d + 1
        if top:
            self.line(b, 'guard Self.versions.contains(version) else { throw reader.error("%s", .unsupportedVersion(version)) }' % path)
        self.flex_let(b)
        for f in fields:
            if f.tag is not None:
                continue
            cond = f.versions.cond(self.m.versions)
            if cond == "false":
                continue
            if cond == "true":
                self.read_field(b, f, "reader", "self." + f.prop, path, "false" if f.never_flexible else "flexible")
            else:
                self.line(b, "if %s {" % cond)
                self.read_field(b + 1, f, "reader", "self." + f.prop, path, "false" if f.never_flexible else "flexible")
                self.line(b, "}")
        self.line(b, "if flexible {")
        self.line(b + 1, 'let count = try reader.readTaggedFieldCount("%s")' % path)
        self.line(b + 1, "var previousTag: Int64 = -1")
        self.line(b + 1, "for _ in 0..<count {")
        self.line(b + 2, 'let tagged = try reader.readTaggedField("%s", previousTag: &previousTag)' % path)
        tagged = [f for f in fields if f.tag is not None]
        if tagged:
            self.line(b + 2, "var sub = tagged.reader")
            self.line(b + 2, "switch tagged.tag {")
            for f in tagged:
                cond = f.tagged.cond(self.m.versions)
                self.line(b + 2, "case %d%s:" % (f.tag, "" if cond == "true" else " where " + cond))
                self.read_field(b + 3, f, "sub", "self." + f.prop, path, "true")
                self.line(b + 3, 'try sub.expectEnd("%s.%s")' % (path, f.plain))
            self.line(b + 2, "default:")
            self.line(b + 3, "unknownTaggedFields.append(tagged.field)")
            self.line(b + 2, "}")
        else:
            self.line(b + 2, "unknownTaggedFields.append(tagged.field)")
        self.line(b + 1, "}")
        self.line(b, "}")
        self.line(d, "}")

    def nullable_cond(self, f):
        return f.nullable.cond(self.m.versions) if f.nullable else "false"

    def read_value(self, f, t, r, fpath, compact):
        """An expression reading one non-array value of spec type t."""
        if t in FIXED:
            return "try %s.read%s(\"%s\")" % (r, FIXED[t], fpath)
        if t == "string":
            return 'try %s.readString("%s", compact: %s)' % (r, fpath, compact)
        if t in ("bytes", "records"):
            return 'try %s.readBytes("%s", compact: %s)' % (r, fpath, compact)
        return "try %s(from: &%s, version: version)" % (t, r)

    def read_field(self, d, f, r, target, path, compact):
        fpath = path + "." + f.plain
        t = f.element
        if f.is_array:
            if optional(f):
                self.line(d, 'if let count = try %s.readNullableArrayCount("%s", compact: %s, nullable: %s) {'
                          % (r, fpath, compact, self.nullable_cond(f)))
            else:
                self.line(d, 'do {')
                self.line(d + 1, 'let count = try %s.readArrayCount("%s", compact: %s)' % (r, fpath, compact))
            self.line(d + 1, "var items: [%s] = []" % PRIMITIVES.get(t, t))
            self.line(d + 1, "items.reserveCapacity(min(count, 256))")
            self.line(d + 1, "for _ in 0..<count { items.append(%s) }" % self.read_value(f, t, r, fpath, compact))
            self.line(d + 1, "%s = items" % target)
            self.line(d, "}" if optional(f) else "}")
            if optional(f):
                self.line(d - 0, "else { %s = nil }" % target)
            return
        if optional(f) and t in ("string", "bytes", "records"):
            fn = "readNullableString" if t == "string" else "readNullableBytes"
            self.line(d, '%s = try %s.%s("%s", compact: %s, nullable: %s)' % (target, r, fn, fpath, compact, self.nullable_cond(f)))
            return
        if optional(f) and is_struct(t):
            self.line(d, 'if try %s.readStructPresence("%s", nullable: %s) {' % (r, fpath, self.nullable_cond(f)))
            self.line(d + 1, "%s = %s" % (target, self.read_value(f, t, r, fpath, compact)))
            self.line(d, "} else { %s = nil }" % target)
            return
        self.line(d, "%s = %s" % (target, self.read_value(f, t, r, fpath, compact)))

    # ---- encode ----------------------------------------------------------------------------
    def emit_encode(self, d, fields, path, top):
        self.line(d, "/// Writes this %s at `version`. Throws `KafkaProtocolError` when a value cannot be written" % ("message" if top else "struct"))
        self.line(d, "/// at that version: null where it is not nullable, a non-default value in a field the version")
        self.line(d, "/// lacks (unless Kafka marks it ignorable), a string over 32767 bytes%s." % (", an unsupported version" if top else ""))
        self.line(d, "public func encode(into writer: inout KafkaWriter, version: Int16) throws(KafkaProtocolError) {")
        b = d + 1
        if top:
            self.line(b, 'guard Self.versions.contains(version) else { throw writer.error("%s", .unsupportedVersion(version)) }' % path)
        self.flex_let(b)
        for f in fields:
            if f.tag is not None:
                continue
            cond = f.versions.cond(self.m.versions)
            compact = "false" if f.never_flexible else "flexible"
            if cond == "true":
                self.write_field(b, f, "writer", "self." + f.prop, path, compact)
                continue
            if cond != "false":
                self.line(b, "if %s {" % cond)
                self.write_field(b + 1, f, "writer", "self." + f.prop, path, compact)
                self.line(b, "} else {" if not f.ignorable else "}")
            else:
                self.line(b, "do {" if not f.ignorable else "")
            if not f.ignorable:
                self.line(b + 1, 'try writer.requireDefault(self.%s == %s, "%s.%s", version: version)' % (f.prop, default_expr(f), path, f.plain))
                self.line(b, "}")
        self.line(b, "if flexible {")
        tagged = [f for f in fields if f.tag is not None]
        if tagged:
            self.line(b + 1, "var tagged = unknownTaggedFields")
            for f in tagged:
                cond = f.tagged.cond(self.m.versions)
                check = "self.%s != %s" % (f.prop, default_expr(f))
                self.line(b + 1, "if %s {" % (check if cond == "true" else cond + ", " + check))
                self.line(b + 2, "var sub = KafkaWriter()")
                self.write_field(b + 2, f, "sub", "self." + f.prop, path, "true")
                self.line(b + 2, "tagged.append(KafkaTaggedField(tag: %d, data: sub.bytes))" % f.tag)
                self.line(b + 1, "}")
                if not f.ignorable and cond != "true":
                    self.line(b + 1, 'if !(%s) { try writer.requireDefault(!(%s), "%s.%s", version: version) }' % (cond, check, path, f.plain))
            self.line(b + 1, 'try writer.writeTaggedFields(tagged, "%s")' % path)
        else:
            self.line(b + 1, 'try writer.writeTaggedFields(unknownTaggedFields, "%s")' % path)
        self.line(b, "}")
        self.line(d, "}")

    def write_value(self, d, t, w, value, fpath, compact):
        if t in FIXED:
            self.line(d, "%s.write%s(%s)" % (w, FIXED[t], value))
        elif t == "string":
            self.line(d, 'try %s.writeString(%s, "%s", compact: %s)' % (w, value, fpath, compact))
        elif t in ("bytes", "records"):
            self.line(d, 'try %s.writeBytes(%s, "%s", compact: %s)' % (w, value, fpath, compact))
        else:
            self.line(d, "try %s.encode(into: &%s, version: version)" % (value, w))

    def write_field(self, d, f, w, value, path, compact):
        fpath = path + "." + f.plain
        t = f.element
        nullable = self.nullable_cond(f)
        if f.is_array:
            if optional(f):
                self.line(d, "if let items = %s {" % value)
                d2 = d + 1
            else:
                self.line(d, "do {")
                self.line(d + 1, "let items = %s" % value)
                d2 = d + 1
            self.line(d2, 'try %s.writeArrayCount(items.count, "%s", compact: %s)' % (w, fpath, compact))
            self.line(d2, "for item in items {")
            self.write_value(d2 + 1, t, w, "item", fpath, compact)
            self.line(d2, "}")
            if optional(f):
                self.line(d, '} else { try %s.writeNullArray("%s", compact: %s, nullable: %s) }' % (w, fpath, compact, nullable))
            else:
                self.line(d, "}")
            return
        if optional(f) and t in ("string", "bytes", "records"):
            fn = "writeNullableString" if t == "string" else "writeNullableBytes"
            self.line(d, 'try %s.%s(%s, "%s", compact: %s, nullable: %s)' % (w, fn, value, fpath, compact, nullable))
            return
        if optional(f) and is_struct(t):
            self.line(d, "if let item = %s {" % value)
            self.line(d + 1, "%s.writeInt8(1)" % w)
            self.write_value(d + 1, t, w, "item", fpath, compact)
            self.line(d, '} else { try %s.writeNullStruct("%s", nullable: %s) }' % (w, fpath, nullable))
            return
        self.write_value(d, t, w, value, fpath, compact)


class SampleGen:
    """Emits `static func sample(version:random:)` for a message and its nested structs."""

    def __init__(self, message):
        self.m = message
        self.out = []
        self.emitted = set()

    def value(self, t, nullable_cond):
        if t in ("int8", "int16", "int32", "int64", "uint16", "bool", "uuid", "float64"):
            return "random.%s()" % {"float64": "double"}.get(t, t)
        if t == "string":
            return "random.string()"
        if t in ("bytes", "records"):
            return "random.bytes()"
        return "%s.%s.sample(version: version, random: &random)" % (self.m.name, t)

    def field(self, f, d):
        t = f.element
        nullable = f.nullable.cond(self.m.versions) if f.nullable else "false"
        if f.is_array:
            expr = "random.array { (random: inout SampleRandom) in %s }" % self.value(t, "false")
        else:
            expr = self.value(t, nullable)
        if optional(f):
            self.out.append("    " * d + "s.%s = %s && random.chance(4) ? nil : %s" % (f.prop, nullable, expr))
        else:
            self.out.append("    " * d + "s.%s = %s" % (f.prop, expr))

    def struct(self, name, fields, qualified):
        o = self.out
        o.append("extension %s {" % qualified)
        o.append("    /// Every field of `version` set to a random value (nulls and unknown tags included).")
        o.append("    static func sample(version: Int16, random: inout SampleRandom) -> Self {")
        o.append("        var s = Self()")
        f0 = self.m.flexible
        flexible = "false" if f0.lo is None else ("true" if f0.lo <= self.m.versions.lo else "version >= %d" % f0.lo)
        o.append("        let flexible = %s" % flexible)
        for f in fields:
            cond = f.versions.cond(self.m.versions)
            if f.tag is not None:
                cond = "flexible && " + f.tagged.cond(self.m.versions)
            if cond == "false":
                continue
            o.append("        if %s {" % cond)
            self.field(f, 3)
            o.append("        }")
        o.append("        if flexible && random.chance(3) { s.unknownTaggedFields = [random.unknownTaggedField()] }")
        o.append("        return s")
        o.append("    }")
        o.append("}")

    def emit(self):
        self.struct(self.m.name, self.m.fields, self.m.name)
        g = Gen(self.m)
        for name, fields, _ in g.nested(self.m.fields, self.m.name):
            if name not in self.emitted:
                self.emitted.add(name)
                o = self.out
                o.append("")
                self.struct(name, fields, self.m.name + "." + name)
        return "\n".join(self.out)


def render_samples(messages):
    parts = ["import SpoolKafkaProtocol", ""]
    for m in messages:
        parts.append(SampleGen(m).emit())
        parts.append("")
    apis = sorted({(m.key, m.api) for m in messages if m.key is not None})
    for kind in ("Request", "Response"):
        parts.append("extension Kafka%sBody {" % kind)
        parts.append("    /// A random %s of `apiKey` at `version`." % kind.lower())
        parts.append("    static func sample(_ apiKey: KafkaAPIKey, version: Int16, random: inout SampleRandom) -> Self {")
        parts.append("        switch apiKey {")
        for _, api in apis:
            parts.append("        case .%s: .%s(%s%s.sample(version: version, random: &random))" % (lower(api), lower(api), api, kind))
        parts.append("        }")
        parts.append("    }")
        parts.append("}")
        parts.append("")
    return HEADER + "\n".join(parts).rstrip() + "\n"


def lower(name):
    return name[0].lower() + name[1:]


def generate_message(message):
    g = Gen(message)
    g.emitted = set()
    g.emit_struct(0, message.name, message.fields, message.name, True)
    return "\n".join(g.out)


HEADER = "// Generated by Tools/kafka-codegen/generate.py from Sources/SpoolKafkaProtocol/kafka-protocol.spec.\n// Do not edit: change the spec and run the generator.\n\n"


def generate_dispatch(messages):
    apis = {}
    for m in messages:
        if m.key is not None:
            apis.setdefault(m.api, {})[m.kind] = m
    ordered = sorted(apis.items(), key=lambda kv: kv[1]["request"].key)
    o = [HEADER.rstrip("\n"), ""]
    o.append("/// The APIs this codec speaks, by Kafka API key.")
    o.append("public enum KafkaAPIKey: Int16, Sendable, CaseIterable, CustomStringConvertible {")
    for name, pair in ordered:
        o.append("    case %s = %d" % (lower(name), pair["request"].key))
    o.append("")
    o.append("    /// Kafka's name of the API (\"Metadata\").")
    o.append("    public var description: String {")
    o.append("        switch self {")
    for name, pair in ordered:
        o.append('        case .%s: "%s"' % (lower(name), name))
    o.append("        }")
    o.append("    }")
    o.append("")
    o.append("    /// The versions this codec reads and writes.")
    o.append("    public var versions: ClosedRange<Int16> {")
    o.append("        switch self {")
    for name, pair in ordered:
        o.append("        case .%s: %sRequest.versions" % (lower(name), name))
    o.append("        }")
    o.append("    }")
    o.append("")
    o.append("    /// The first version using the flexible encoding (compact strings, tagged fields), if any.")
    o.append("    public var lowestFlexibleVersion: Int16? {")
    o.append("        switch self {")
    for name, pair in ordered:
        o.append("        case .%s: %sRequest.lowestFlexibleVersion" % (lower(name), name))
    o.append("        }")
    o.append("    }")
    o.append("}")
    for kind in ("request", "response"):
        cap = kind.capitalize()
        o.append("")
        o.append("/// The body of a %s, one case per API." % kind)
        o.append("public enum Kafka%sBody: Equatable, Sendable {" % cap)
        for name, pair in ordered:
            o.append("    case %s(%s%s)" % (lower(name), name, cap))
        o.append("")
        o.append("    /// The API this body belongs to.")
        o.append("    public var apiKey: KafkaAPIKey {")
        o.append("        switch self {")
        for name, pair in ordered:
            o.append("        case .%s: .%s" % (lower(name), lower(name)))
        o.append("        }")
        o.append("    }")
        o.append("")
        o.append("    /// Reads the body of `apiKey` at `version`; throws `KafkaProtocolError` (never traps).")
        o.append("    public init(from reader: inout KafkaReader, apiKey: KafkaAPIKey, version: Int16) throws(KafkaProtocolError) {")
        o.append("        switch apiKey {")
        for name, pair in ordered:
            o.append("        case .%s: self = .%s(try %s%s(from: &reader, version: version))" % (lower(name), lower(name), name, cap))
        o.append("        }")
        o.append("    }")
        o.append("")
        o.append("    /// Writes the body at `version`; throws what the message's `encode` throws.")
        o.append("    public func encode(into writer: inout KafkaWriter, version: Int16) throws(KafkaProtocolError) {")
        o.append("        switch self {")
        for name, pair in ordered:
            o.append("        case .%s(let body): try body.encode(into: &writer, version: version)" % lower(name))
        o.append("        }")
        o.append("    }")
        o.append("}")
    return "\n".join(o) + "\n"


def render(messages):
    files = {}
    headers = [m for m in messages if m.kind == "header"]
    files["Headers.swift"] = HEADER + "\n\n".join(generate_message(m) for m in headers) + "\n"
    apis = {}
    for m in messages:
        if m.key is not None:
            apis.setdefault(m.api, []).append(m)
    for api, ms in apis.items():
        files[api + ".swift"] = HEADER + "\n\n".join(generate_message(m) for m in ms) + "\n"
    files["KafkaAPIKey.swift"] = generate_dispatch(messages)
    return files


def outputs():
    messages = parse(SPEC)
    out = {os.path.join(OUT, n): text for n, text in render(messages).items()}
    out[os.path.join(SAMPLES, "Samples.swift")] = render_samples(messages)
    return out


def main():
    files = outputs()
    folders = {OUT, SAMPLES}
    existing = {os.path.join(d, n) for d in folders if os.path.isdir(d) for n in os.listdir(d)}
    if "--check" in sys.argv:
        stale = [p for p, text in files.items() if not os.path.exists(p) or open(p).read() != text]
        stale += sorted(existing - set(files))
        if stale:
            sys.exit("generated Swift is stale: %s (run Tools/kafka-codegen/generate.py)" % ", ".join(os.path.relpath(p, ROOT) for p in stale))
        return
    for d in folders:
        os.makedirs(d, exist_ok=True)
    for p in existing - set(files):
        os.remove(p)
    for p, text in files.items():
        with open(p, "w") as f:
            f.write(text)
    print("wrote %d files" % len(files))


if __name__ == "__main__":
    main()
