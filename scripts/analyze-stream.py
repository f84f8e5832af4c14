#!/usr/bin/env python3
"""Walk a QEMU version-3 migration stream, as tern or QEMU writes it.

Prints the header, the configuration, every section (offset, type, id, name,
instance, version, bytes), a RAM summary per block and each device section's
fields, decoded with the VM description JSON trailer.  --verify checks the
framing and exits non-zero naming the first problem and its file offset;
--extract DIR writes each RAM block, the device state and the VM description
to files.  The format is described in docs/devel/architecture.md.
"""

import argparse
import json
import mmap
import os
import struct
import sys
import zlib

QEMU_VM_FILE_MAGIC = 0x5145564D
QEMU_VM_FILE_VERSION = 3
QEMU_VM_FILE_VERSION_COMPAT = 2
(QEMU_VM_EOF, QEMU_VM_SECTION_START, QEMU_VM_SECTION_PART, QEMU_VM_SECTION_END,
 QEMU_VM_SECTION_FULL, QEMU_VM_SUBSECTION, QEMU_VM_VMDESCRIPTION,
 QEMU_VM_CONFIGURATION, QEMU_VM_COMMAND) = range(9)
QEMU_VM_SECTION_FOOTER = 0x7E
SECTION_LABELS = {QEMU_VM_SECTION_START: "start", QEMU_VM_SECTION_PART: "part",
                  QEMU_VM_SECTION_END: "end", QEMU_VM_SECTION_FULL: "full"}

# QEMU_VM_COMMAND ids: name and payload length (None: variable).
COMMANDS = {1: ("OPEN_RETURN_PATH", 0), 2: ("PING", 4), 3: ("POSTCOPY_ADVISE", None),
            4: ("POSTCOPY_LISTEN", 0), 5: ("POSTCOPY_RUN", 0),
            6: ("POSTCOPY_RAM_DISCARD", None), 8: ("ENABLE_COLO", 0),
            9: ("POSTCOPY_RESUME", 0), 10: ("RECV_BITMAP", None), 11: ("SWITCHOVER_START", 0)}
CMD_PACKAGED = 7

RAM_ZERO, RAM_MEM_SIZE, RAM_PAGE, RAM_EOS = 0x02, 0x04, 0x08, 0x10
RAM_CONTINUE, RAM_XBZRLE, RAM_HOOK = 0x20, 0x40, 0x80
RAM_COMPRESS_PAGE, RAM_MULTIFD_FLUSH = 0x100, 0x200
RAM_FLAGS_MASK = 0x3FF          # flags live below the smallest page size (1 KiB)
XBZRLE_ENCODING = 0x01
PAGE_SIZE = 4096
VMDESC_SEARCH = 10 * 1024 * 1024

# Page states in a block's map.
NOT_SENT, DATA, ZERO = 0, 1, 2


class StreamError(Exception):
    """The first problem found, at a file offset."""

    def __init__(self, offset, message):
        super().__init__(f"offset {offset} (0x{offset:x}): {message}")
        self.offset = offset
        self.message = message


class Reader:
    """Big-endian reads over the file's bytes; positions are file offsets."""

    def __init__(self, data, start=0):
        self.data = data
        self.pos = start

    def take(self, n, what):
        if n < 0 or self.pos + n > len(self.data):
            raise StreamError(self.pos, f"stream ends inside {what} (needs {n} bytes, "
                                        f"{len(self.data) - self.pos} left)")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self, what):
        return self.take(1, what)[0]

    def be(self, size, what, signed=False):
        return int.from_bytes(self.take(size, what), "big", signed=signed)

    def name(self, what, printable=False):
        """A u8-length-prefixed string (idstr, block name, subsection name),
        with non-printable characters escaped; @printable: refuse them."""
        at = self.pos
        raw = self.take(self.u8(what + " length"), what).decode("latin-1")
        if raw.isprintable():
            return raw
        if printable:
            raise StreamError(at, f"{what} is not printable text "
                                  f"({raw[:32].encode('unicode_escape').decode()}...)")
        return raw.encode("unicode_escape").decode()

    def peek(self):
        return self.data[self.pos] if self.pos < len(self.data) else None


def find_vmdesc(data, start):
    """Locate the JSON trailer the way QEMU's analyser does: after the last NUL
    in the last 10 MiB, the first '{', preceded by 0x06 and its be32 length.
    Returns (description, offset of the 0x06 byte), or (None, None)."""
    tail = max(start, len(data) - VMDESC_SEARCH)
    nul = data.rfind(b"\0", tail)
    brace = data.find(b"{", nul + 1 if nul >= 0 else tail)
    if brace < start + 5 or data[brace - 5] != QEMU_VM_VMDESCRIPTION:
        return None, None
    length = int.from_bytes(data[brace - 4:brace], "big")
    if brace + length > len(data):
        return None, None
    try:
        return json.loads(bytes(data[brace:brace + length])), brace - 5
    except ValueError:
        return None, None


def xbzrle_decode(old, enc, at):
    """Apply an XBZRLE delta (zero run, then new bytes, repeated) to @old."""
    page = bytearray(old)
    r = Reader(enc)
    pos = 0

    def uleb():
        value = shift = 0
        while True:
            b = r.u8("xbzrle run length")
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value

    while r.pos < len(enc):
        zrun = uleb()
        if zrun == 0 and pos:
            raise StreamError(at, "xbzrle: empty unchanged run after the first")
        pos += zrun
        nzrun = uleb()
        if nzrun == 0 or pos + nzrun > len(page):
            raise StreamError(at, f"xbzrle: run of {nzrun} bytes at {pos} overflows the page")
        page[pos:pos + nzrun] = r.take(nzrun, "xbzrle data")
        pos += nzrun
    return bytes(page)


class RamBlock:
    def __init__(self, name, length, outdir):
        self.name = name
        self.length = length
        self.pages = (length + PAGE_SIZE - 1) // PAGE_SIZE
        self.state = bytearray(self.pages)           # NOT_SENT / DATA / ZERO per page
        self.records = {"normal": 0, "zero": 0, "xbzrle": 0, "compressed": 0}
        self.file = None
        if outdir:
            safe = name.replace("/", "_") or "_"
            self.path = os.path.join(outdir, f"ram-{safe}.bin")
            self.file = open(self.path, "w+b")
            self.file.truncate(length)

    def write(self, offset, page):
        if self.file:
            self.file.seek(offset)
            self.file.write(page)

    def read(self, offset):
        if not self.file or self.state[offset // PAGE_SIZE] != DATA:
            return bytes(PAGE_SIZE)
        self.file.seek(offset)
        return self.file.read(PAGE_SIZE)


class RamSection:
    """The 'ram' section's records: the block list at setup, then pages to EOS."""

    def __init__(self, outdir=None, ignore_shared=False):
        self.outdir = outdir
        self.ignore_shared = ignore_shared
        self.blocks = {}
        self.last = None
        self.multifd_flushes = 0

    def load(self, r):
        while True:
            at = r.pos
            word = r.be(8, "ram record header")
            flags, addr = word & RAM_FLAGS_MASK, word & ~(PAGE_SIZE - 1)
            if word & (PAGE_SIZE - 1) & ~RAM_FLAGS_MASK:
                raise StreamError(at, f"ram record 0x{word:016x}: offset not page aligned")
            if flags & RAM_EOS:
                if flags != RAM_EOS or addr:
                    raise StreamError(at, f"EOS record with other bits set (0x{word:x})")
                return
            if flags == RAM_MULTIFD_FLUSH and not addr:
                self.multifd_flushes += 1
                continue
            if flags & RAM_MEM_SIZE:
                self.block_list(r, at, word & ~RAM_MEM_SIZE)
                continue
            self.page(r, at, flags, addr)

    def block_list(self, r, at, total):
        if self.blocks:
            raise StreamError(at, "second MEM_SIZE record")
        seen = 0
        while seen < total:
            name_at = r.pos
            name = r.name("ramblock id", printable=True)
            length = r.be(8, "ramblock length")
            if name in self.blocks:
                raise StreamError(name_at, f"ramblock '{name}' listed twice")
            if seen + length > total:
                raise StreamError(name_at, f"ramblock '{name}' length {length} overruns "
                                           f"the MEM_SIZE total {total}")
            if self.ignore_shared:
                r.be(8, "ramblock address")
            self.blocks[name] = RamBlock(name, length, self.outdir)
            seen += length
        if seen != total:
            raise StreamError(at, f"ramblock lengths sum to {seen}, MEM_SIZE says {total}")

    def page(self, r, at, flags, addr):
        kind = flags & ~RAM_CONTINUE
        if kind not in (RAM_ZERO, RAM_PAGE, RAM_XBZRLE, RAM_COMPRESS_PAGE):
            raise StreamError(at, f"ram record with flags 0x{flags:x} "
                                  "(not a zero, normal, xbzrle or compressed page)")
        if flags & RAM_CONTINUE:
            if self.last is None:
                raise StreamError(at, "CONTINUE page before any ramblock was named")
        else:
            name = r.name("ramblock id")
            if name not in self.blocks:
                raise StreamError(at, f"page for unknown ramblock '{name}'")
            self.last = name
        block = self.blocks[self.last]
        if addr + PAGE_SIZE > block.length:
            raise StreamError(at, f"page 0x{addr:x} beyond ramblock '{block.name}' "
                                  f"(0x{block.length:x} bytes)")
        index = addr // PAGE_SIZE
        if kind == RAM_ZERO:
            fill = r.u8("zero page fill byte")
            if fill:
                raise StreamError(at, f"zero page with fill byte {fill}")
            block.records["zero"] += 1
            if block.state[index] == DATA:
                block.write(addr, bytes(PAGE_SIZE))
            block.state[index] = ZERO
        elif kind == RAM_PAGE:
            block.write(addr, r.take(PAGE_SIZE, "page data"))
            block.records["normal"] += 1
            block.state[index] = DATA
        elif kind == RAM_COMPRESS_PAGE:
            # QEMU <= 9.0's capability compress: be32 len, one zlib stream of the page.
            data = r.take(r.be(4, "compressed page length"), "compressed page")
            try:
                d = zlib.decompressobj()
                page = d.decompress(data, PAGE_SIZE + 1)
                if not d.eof or d.unused_data or d.unconsumed_tail:
                    raise zlib.error("not exactly one zlib stream")
            except zlib.error as e:
                raise StreamError(at, f"compressed page: {e}")
            if len(page) != PAGE_SIZE:
                raise StreamError(at, f"compressed page holds {len(page)} bytes")
            block.write(addr, page)
            block.records["compressed"] += 1
            block.state[index] = DATA
        else:
            if r.u8("xbzrle encoding flag") != XBZRLE_ENCODING:
                raise StreamError(at, "xbzrle page without the xbzrle encoding flag")
            enc = r.take(r.be(2, "xbzrle length"), "xbzrle data")
            block.write(addr, xbzrle_decode(block.read(addr), enc, at))
            block.records["xbzrle"] += 1
            block.state[index] = DATA

    def close(self):
        for block in self.blocks.values():
            if block.file:
                block.file.close()


# ---- VMState fields, as the VM description describes them ----

def text_or_hex(raw):
    """A buffer as text when it is printable ASCII padded with NULs, else hex."""
    text = raw.rstrip(b"\0")
    if text and all(32 <= c < 127 for c in text):
        return text.decode()
    return raw.hex()


def decode_value(r, field, where):
    kind, size = field.get("type", "unknown"), field.get("size", 0)
    at = r.pos
    if kind in ("struct", "vstruct"):
        value = decode_vmsd(r, field["struct"], where)
    elif kind == "capability":
        value = r.name(f"{where}: capability")
    else:
        raw = r.take(size, f"{where}: field '{field['name']}'")
        base = kind.split()[0]
        if base == "bool" and size == 1:
            value = bool(raw[0])
        elif base in ("int8", "int16", "int32", "int64", "timer"):
            value = int.from_bytes(raw, "big", signed=True)
        elif base in ("uint8", "uint16", "uint32", "uint64"):
            value = int.from_bytes(raw, "big")
        elif base == "float64" and size == 8:
            value = struct.unpack(">d", raw)[0]
        elif base == "buffer":
            value = text_or_hex(raw)
        else:
            value = raw.hex()
    if "array_len" not in field and r.pos - at != size:
        raise StreamError(at, f"{where}: field '{field['name']}' took {r.pos - at} bytes, "
                              f"the VM description says {size}")
    return value


def decode_vmsd(r, desc, where):
    """Decode a VMState body: its fields in order, then the subsections the
    description lists (exactly those that were sent), each 0x05-tagged."""
    out = {}
    for field in desc.get("fields", []):
        name = field["name"]
        if "array_len" in field:
            out[name] = [decode_value(r, field, where) for _ in range(field["array_len"])]
        elif "index" in field:
            out.setdefault(name, []).append(decode_value(r, field, where))
        else:
            out[name] = decode_value(r, field, where)
    for sub in desc.get("subsections", []):
        at = r.pos
        if r.u8("subsection marker") != QEMU_VM_SUBSECTION:
            raise StreamError(at, f"{where}: subsection '{sub['vmsd_name']}' expected")
        name = r.name("subsection name")
        if name != sub["vmsd_name"]:
            raise StreamError(at, f"{where}: subsection '{name}', the VM description "
                                  f"says '{sub['vmsd_name']}'")
        version = r.be(4, "subsection version")
        out[name] = {"version": version, **decode_vmsd(r, sub, where)}
    return out


def decode_legacy_configuration(r):
    """A configuration section without a description (QEMU before 8.2)."""
    length = r.be(4, "machine name length")
    config = {"len": length, "name": text_or_hex(r.take(length, "machine name"))}
    while r.peek() == QEMU_VM_SUBSECTION:
        at = r.pos
        r.u8("subsection marker")
        name = r.name("subsection name")
        r.be(4, "subsection version")
        if name == "configuration/target-page-bits":
            config[name] = {"target_page_bits": r.be(4, "target page bits")}
        elif name == "configuration/capabilities":
            count = r.be(4, "capability count")
            config[name] = {"capabilities": [r.name("capability") for _ in range(count)]}
        elif name == "configuration/uuid":
            config[name] = {"uuid.data": list(r.take(16, "uuid"))}
        else:
            raise StreamError(at, f"unknown configuration subsection '{name}'")
    return config


def json_default(value):
    return value.hex() if isinstance(value, (bytes, bytearray)) else str(value)


class Analyzer:
    """Walks the whole stream; run() raises StreamError at the first problem."""

    def __init__(self, data, start=0, outdir=None, out=print):
        self.data = data
        self.start = start
        self.r = Reader(data, start)
        self.out = out
        self.outdir = outdir
        self.vmdesc, self.vmdesc_at = find_vmdesc(data, start)
        self.config = None
        self.sections = {}      # id -> {"name", "instance", "version", "ended"}
        self.layout = []        # (offset, what) for every record walked, in order
        self.ram = None
        self.devices = {}
        self.commands = []

    def run(self):
        try:
            self.walk()
        finally:
            if self.ram:
                self.ram.close()

    def walk(self):
        r = self.r
        self.header()
        while True:
            at = r.pos
            kind = r.u8("section type (the stream has no EOF marker)")
            if kind == QEMU_VM_EOF:
                self.layout.append((at, "eof"))
                self.out(f"@{at}: EOF")
                break
            if kind == QEMU_VM_CONFIGURATION:
                self.configuration(at)
            elif kind in (QEMU_VM_SECTION_START, QEMU_VM_SECTION_FULL):
                self.section_start(kind, at)
            elif kind in (QEMU_VM_SECTION_PART, QEMU_VM_SECTION_END):
                self.section_part(kind, at)
            elif kind == QEMU_VM_COMMAND:
                self.command(at)
            else:
                raise StreamError(at, f"unknown section type 0x{kind:02x}")
        for sid, s in self.sections.items():
            if not s["ended"]:
                raise StreamError(r.pos - 1, f"EOF before the END of section {sid} "
                                             f"'{s['name']}'")
        self.trailer()

    def header(self):
        r = self.r
        self.layout.append((r.pos, "header"))
        magic = r.be(4, "file magic")
        if magic != QEMU_VM_FILE_MAGIC:
            raise StreamError(r.pos - 4, f"bad magic 0x{magic:08x} (not a migration stream)")
        version = r.be(4, "file version")
        if version != QEMU_VM_FILE_VERSION:
            old = " (v2 is obsolete)" if version == QEMU_VM_FILE_VERSION_COMPAT else ""
            raise StreamError(r.pos - 4, f"unsupported stream version {version}{old}")
        self.out(f"header: magic QEVM, version {version}")
        if self.vmdesc is None:
            self.out("note: no VM description trailer found; device sections "
                     "cannot be decoded")

    def configuration(self, at):
        if self.config is not None:
            raise StreamError(at, "second configuration section")
        if self.layout[-1][1] != "header":
            raise StreamError(at, "configuration section after the first section")
        self.layout.append((at, "configuration"))
        desc = (self.vmdesc or {}).get("configuration")
        if desc:
            config = decode_vmsd(self.r, desc, "configuration")
            sizes = {f["name"]: f.get("size") for f in desc.get("fields", [])}
            if "len" in config and "name" in sizes:
                if config["len"] != sizes["name"]:
                    raise StreamError(at + 1, f"configuration: machine name length "
                                              f"{config['len']} but a {sizes['name']}-byte "
                                              "name")
        else:
            config = decode_legacy_configuration(self.r)
        self.config = config
        caps = config.get("configuration/capabilities", {}).get("capabilities", [])
        if "mapped-ram" in caps:
            raise StreamError(at, "mapped-ram streams are not supported by this analyser")
        self.ignore_shared = "x-ignore-shared" in caps
        self.out(f"@{at}: configuration {json.dumps(config, default=json_default)}")

    def command(self, at):
        r = self.r
        cmd = r.be(2, "command id")
        length = r.be(2, "command length")
        name, fixed = COMMANDS.get(cmd, (None, None))
        if cmd == CMD_PACKAGED:
            raise StreamError(at, "PACKAGED command (postcopy) is not supported")
        if name is None:
            raise StreamError(at, f"unknown migration command {cmd}")
        if fixed is not None and length != fixed:
            raise StreamError(at, f"command {name} with length {length}, expected {fixed}")
        payload = r.take(length, f"command {name} payload")
        self.commands.append(name)
        self.layout.append((at, f"command {name}"))
        self.out(f"@{at}: command {name}" + (f" {payload.hex()}" if payload else ""))

    def section_start(self, kind, at):
        r = self.r
        sid = r.be(4, "section id")
        name = r.name("section name")
        instance = r.be(4, "instance id")
        version = r.be(4, "version id")
        if sid in self.sections:
            raise StreamError(at, f"section id {sid} ('{name}') used twice")
        self.sections[sid] = {"name": name, "instance": instance, "version": version,
                              "ended": kind == QEMU_VM_SECTION_FULL}
        self.body(kind, sid, at)

    def section_part(self, kind, at):
        sid = self.r.be(4, "section id")
        s = self.sections.get(sid)
        if s is None:
            raise StreamError(at, f"{SECTION_LABELS[kind].upper()} for unknown section id {sid}")
        if s["ended"]:
            raise StreamError(at, f"{SECTION_LABELS[kind].upper()} for section {sid} "
                                  f"'{s['name']}' after its end")
        s["ended"] = kind == QEMU_VM_SECTION_END
        self.body(kind, sid, at)

    def body(self, kind, sid, at):
        s = self.sections[sid]
        name, instance, version = s["name"], s["instance"], s["version"]
        detail = ""
        if name == "ram" and instance == 0:
            if version != 4:
                raise StreamError(at, f"ram section version {version}, expected 4")
            if self.ram is None:
                self.ram = RamSection(self.outdir, getattr(self, "ignore_shared", False))
            self.ram.load(self.r)
        elif kind != QEMU_VM_SECTION_FULL:
            raise StreamError(at, f"iterative section '{name}' is not one this analyser knows")
        else:
            detail = self.device(sid, name, instance, version, at)
        self.footer(sid, name)
        self.layout.append((at, f"{SECTION_LABELS[kind]} {name}"))
        self.out(f"@{at}: {SECTION_LABELS[kind]:<5} id {sid} '{name}' instance {instance} "
                 f"v{version} ({self.r.pos - at} bytes){detail}")

    def device(self, sid, name, instance, version, at):
        if self.vmdesc is None:
            return self.skip_device(sid, name, at)
        desc = next((d for d in self.vmdesc.get("devices", [])
                     if d.get("name") == name and d.get("instance_id") == instance), None)
        if desc is None:
            raise StreamError(at, f"section '{name}' instance {instance} is not in the "
                                  "VM description")
        if desc.get("version", version) != version:
            raise StreamError(at, f"section '{name}' is version {version}, the VM "
                                  f"description says {desc['version']}")
        state = decode_vmsd(self.r, desc, f"section '{name}'")
        self.devices[f"{name}/{instance}"] = state
        return " " + json.dumps(state, default=json_default)

    def skip_device(self, sid, name, at):
        """Without a description the body's length is unknown: go to the first
        footer naming this section (a guess, said so in the output)."""
        footer = bytes([QEMU_VM_SECTION_FOOTER]) + sid.to_bytes(4, "big")
        end = self.data.find(footer, self.r.pos)
        if end < 0:
            raise StreamError(at, f"stream ends inside section '{name}' (no footer after "
                                  "it; without a VM description it cannot be decoded)")
        self.r.pos = end
        return " (not decoded: no VM description)"

    def footer(self, sid, name):
        at = self.r.pos
        if self.r.u8("section footer") != QEMU_VM_SECTION_FOOTER:
            raise StreamError(at, f"missing section footer for '{name}' (section {sid})")
        got = self.r.be(4, "footer section id")
        if got != sid:
            raise StreamError(at, f"footer names section {got}, expected {sid} ('{name}')")

    def trailer(self):
        r = self.r
        at = r.pos
        if at == len(self.data):
            raise StreamError(at, "stream ends after EOF without the VM description trailer")
        if r.u8("trailer type") != QEMU_VM_VMDESCRIPTION:
            raise StreamError(at, "the bytes after EOF are not a VM description")
        length = r.be(4, "VM description length")
        body = r.take(length, "VM description")
        try:
            json.loads(bytes(body))
        except ValueError as e:
            raise StreamError(at + 5, f"VM description is not JSON: {e}")
        if r.pos != len(self.data):
            raise StreamError(r.pos, f"{len(self.data) - r.pos} bytes after the VM description")
        if self.vmdesc_at != at:
            raise StreamError(at, "the VM description is not where a reader finds it "
                                  "(after the last NUL byte)")
        self.layout.append((at, "vmdesc"))
        self.out(f"@{at}: VM description ({length} bytes of JSON, "
                 f"{len(self.vmdesc.get('devices', []))} devices)")

    def summary(self):
        if not self.ram:
            return
        for b in self.ram.blocks.values():
            data = b.state.count(DATA)
            zero = b.state.count(ZERO)
            rec = b.records
            self.out(f"ram block '{b.name}': {b.length} bytes, {b.pages} pages: {data} with "
                     f"data, {zero} zero, {b.pages - data - zero} never sent; records: "
                     f"{rec['normal']} normal, {rec['zero']} zero, {rec['xbzrle']} xbzrle" +
                     (f", {rec['compressed']} compressed" if rec['compressed'] else ""))

    def extract(self):
        """Write the device state and the VM description (RAM went out while walking)."""
        with open(os.path.join(self.outdir, "devices.json"), "w") as f:
            json.dump({"configuration": self.config, "devices": self.devices}, f,
                      indent=2, default=json_default)
        if self.vmdesc is not None:
            with open(os.path.join(self.outdir, "vmdesc.json"), "w") as f:
                json.dump(self.vmdesc, f, indent=2)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("file", help="stream written by migrate file: or exec:cat > FILE")
    p.add_argument("--verify", action="store_true",
                   help="check the framing; print one line, exit 1 at the first problem")
    p.add_argument("--extract", metavar="DIR",
                   help="write ram-BLOCK.bin, devices.json and vmdesc.json to DIR")
    p.add_argument("--offset", type=int, default=0,
                   help="the stream starts at this byte offset (migrate file:PATH,offset=N)")
    opts = p.parse_args()

    try:
        f = open(opts.file, "rb")
    except OSError as e:
        print(f"{opts.file}: {e.strerror}", file=sys.stderr)
        return 2
    with f:
        size = os.fstat(f.fileno()).st_size
        if size <= opts.offset:
            print(f"{opts.file}: no stream at offset {opts.offset} (file is {size} bytes)",
                  file=sys.stderr)
            return 1
        data = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        if opts.extract:
            os.makedirs(opts.extract, exist_ok=True)
        quiet = opts.verify
        a = Analyzer(data, opts.offset, opts.extract,
                     out=(lambda *_: None) if quiet else print)
        try:
            a.run()
        except StreamError as e:
            sys.stdout.flush()
            print(f"{opts.file}: {e}", file=sys.stderr)
            return 1
        a.summary()
        if opts.extract:
            a.extract()
        if opts.verify:
            print(f"{opts.file}: stream OK ({size - opts.offset} bytes, "
                  f"{len(a.sections)} sections, {len(a.devices)} devices)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
