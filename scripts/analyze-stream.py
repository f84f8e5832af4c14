#!/usr/bin/env python3
"""Walk a QEMU version-3 migration stream (as tern or QEMU writes it).

Prints the header, the configuration, every section (id, name, instance,
version, bytes), a RAM summary per block and each device section's fields,
decoded with the VM description trailer.  --verify checks the framing and
exits non-zero naming the first problem and its offset; --extract DIR writes
RAM blocks and device state (JSON) to files.
"""

import argparse
import json
import os
import struct
import sys

QEMU_VM_FILE_MAGIC = 0x5145564D
QEMU_VM_FILE_VERSION = 3
EOF, START, PART, END, FULL, SUBSECTION, VMDESCRIPTION, CONFIGURATION, COMMAND = range(9)
FOOTER = 0x7E
SWITCHOVER_START = 0x0B

RAM_ZERO, RAM_MEM_SIZE, RAM_PAGE, RAM_EOS = 0x02, 0x04, 0x08, 0x10
RAM_CONTINUE, RAM_XBZRLE, RAM_HOOK, RAM_MULTIFD_FLUSH = 0x20, 0x40, 0x80, 0x200
PAGE_SIZE = 4096


class StreamError(Exception):
    def __init__(self, offset, message):
        super().__init__(f"offset {offset} (0x{offset:x}): {message}")
        self.offset = offset


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n, what):
        if n < 0 or self.pos + n > len(self.data):
            raise StreamError(self.pos, f"stream ends inside {what} "
                              f"(needs {n} bytes, {len(self.data) - self.pos} left)")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self, what="byte"):
        return self.take(1, what)[0]

    def be(self, size, what):
        return int.from_bytes(self.take(size, what), "big")

    def name(self, what):
        return self.take(self.u8(what + " length"), what).decode("latin-1")

    def peek(self, offset=0):
        p = self.pos + offset
        return self.data[p] if p < len(self.data) else None


def find_vmdesc(data):
    """The JSON trailer: after the last NUL, the first '{', with 0x06 and a be32 length before it."""
    tail_start = max(0, len(data) - 10 * 1024 * 1024)
    nul = data.rfind(b"\0", tail_start)
    brace = data.find(b"{", nul + 1 if nul >= 0 else tail_start)
    if brace < 5 or data[brace - 5] != VMDESCRIPTION:
        return None, None
    length = int.from_bytes(data[brace - 4:brace], "big")
    return json.loads(data[brace:brace + length]), brace - 5


class RamSection:
    """RAM section payloads: block list at setup, then page records to EOS."""

    def __init__(self):
        self.blocks = {}        # name -> {"length", "pages", "zero", "data": {offset: bytes}}
        self.last = None

    def load(self, r, keep_pages):
        while True:
            at = r.pos
            word = r.be(8, "ram record header")
            flags, addr = word & (PAGE_SIZE - 1), word & ~(PAGE_SIZE - 1)
            if flags & RAM_MEM_SIZE:
                total = addr
                seen = 0
                while seen < total:
                    name = r.name("ramblock id")
                    length = r.be(8, "ramblock length")
                    self.blocks[name] = {"length": length, "pages": 0, "zero": 0, "data": {}}
                    seen += length
                if seen != total:
                    raise StreamError(at, f"block lengths sum to {seen}, MEM_SIZE says {total}")
                continue
            if flags & RAM_EOS:
                return
            if flags & (RAM_XBZRLE | RAM_HOOK | RAM_MULTIFD_FLUSH):
                raise StreamError(at, f"unsupported ram flags 0x{flags:x}")
            if flags & RAM_CONTINUE:
                if self.last is None:
                    raise StreamError(at, "CONTINUE before any block was named")
            else:
                name = r.name("ramblock id")
                if name not in self.blocks:
                    raise StreamError(at, f"unknown ramblock '{name}'")
                self.last = name
            block = self.blocks[self.last]
            if addr + PAGE_SIZE > block["length"]:
                raise StreamError(at, f"page 0x{addr:x} beyond block '{self.last}'")
            if flags & RAM_ZERO:
                fill = r.u8("zero page fill byte")
                if fill:
                    raise StreamError(at, f"zero page with fill byte {fill}")
                block["zero"] += 1
                block["data"].pop(addr, None)
            elif flags & RAM_PAGE:
                data = r.take(PAGE_SIZE, "page data")
                block["pages"] += 1
                if keep_pages:
                    block["data"][addr] = data
            else:
                raise StreamError(at, f"ram record without a page type (flags 0x{flags:x})")


def decode_fields(r, desc):
    """Decode a vmstate body described by a vmdesc {fields, subsections} entry."""
    out = {}
    for field in desc.get("fields", []):
        count = field.get("array_len", 1)
        values = [decode_value(r, field) for _ in range(count)]
        name = field["name"] + (f"[{field['index']}]" if "index" in field else "")
        out[name] = values if "array_len" in field else values[0]
    subs = {s["vmsd_name"]: s for s in desc.get("subsections", [])}
    while r.peek() == SUBSECTION:
        r.u8()
        name = r.name("subsection name")
        version = r.be(4, "subsection version")
        if name not in subs:
            raise StreamError(r.pos, f"subsection '{name}' not in the VM description")
        out[name] = {"version": version, **decode_fields(r, subs[name])}
    return out


def decode_value(r, field):
    kind, size = field.get("type"), field.get("size", 0)
    if kind == "struct":
        return decode_fields(r, field["struct"])
    raw = r.take(size, f"field '{field['name']}'")
    if kind == "bool":
        return bool(raw[0])
    if kind and kind.startswith(("uint", "int")) and size in (1, 2, 4, 8):
        return int.from_bytes(raw, "big", signed=kind.startswith("int"))
    return raw.hex()


class Analyzer:
    def __init__(self, data, keep_pages=False, out=print):
        self.data = data
        self.r = Reader(data)
        self.keep_pages = keep_pages
        self.out = out
        self.vmdesc, self.vmdesc_at = find_vmdesc(data)
        self.sections = {}      # id -> (name, instance, version)
        self.ram = RamSection()
        self.devices = {}

    def run(self):
        r = self.r
        magic = r.be(4, "magic")
        if magic != QEMU_VM_FILE_MAGIC:
            raise StreamError(0, f"bad magic 0x{magic:08x}")
        version = r.be(4, "version")
        if version != QEMU_VM_FILE_VERSION:
            raise StreamError(4, f"unsupported stream version {version}")
        self.out(f"header: magic QEVM, version {version}")
        while True:
            at = r.pos
            kind = r.u8("section type")
            if kind == EOF:
                self.out(f"@{at}: EOF")
                break
            handler = {CONFIGURATION: self.configuration, START: self.section_full,
                       FULL: self.section_full, PART: self.section_part,
                       END: self.section_part, COMMAND: self.command}.get(kind)
            if handler is None:
                raise StreamError(at, f"unknown section type 0x{kind:02x}")
            handler(kind, at)
        self.trailer()

    def configuration(self, kind, at):
        desc = (self.vmdesc or {}).get("configuration")
        if desc:
            config = decode_fields(self.r, desc)
        else:
            length = self.r.be(4, "machine name length")
            config = {"name": self.r.take(length, "machine name").decode()}
        self.out(f"@{at}: configuration {json.dumps(config, default=str)}")

    def command(self, kind, at):
        cmd = self.r.be(2, "command")
        length = self.r.be(2, "command length")
        self.r.take(length, "command payload")
        if cmd != SWITCHOVER_START or length:
            raise StreamError(at, f"unexpected command {cmd} (len {length})")
        self.out(f"@{at}: command SWITCHOVER_START")

    def section_full(self, kind, at):
        r = self.r
        sid = r.be(4, "section id")
        name = r.name("section name")
        instance = r.be(4, "instance id")
        version = r.be(4, "version id")
        self.sections[sid] = (name, instance, version)
        self.load_body(kind, sid, at)

    def section_part(self, kind, at):
        sid = self.r.be(4, "section id")
        if sid not in self.sections:
            raise StreamError(at, f"PART/END for unknown section id {sid}")
        self.load_body(kind, sid, at)

    def load_body(self, kind, sid, at):
        name, instance, version = self.sections[sid]
        label = {START: "start", PART: "part", END: "end", FULL: "full"}[kind]
        if name == "ram" and instance == 0:
            if version != 4:
                raise StreamError(at, f"ram section version {version}, expected 4")
            self.ram.load(self.r, self.keep_pages)
            detail = ""
        else:
            desc = self.device_desc(name, instance)
            if desc is None:
                raise StreamError(at, f"section '{name}' instance {instance} is not in the "
                                      "VM description")
            self.devices[f"{name}/{instance}"] = decode_fields(self.r, desc)
            detail = " " + json.dumps(self.devices[f"{name}/{instance}"], default=str)
        self.footer(sid, name)
        self.out(f"@{at}: {label:<5} id {sid} '{name}' instance {instance} v{version} "
                 f"({self.r.pos - at} bytes){detail}")

    def device_desc(self, name, instance):
        for dev in (self.vmdesc or {}).get("devices", []):
            if dev["name"] == name and dev["instance_id"] == instance:
                return dev
        return None

    def footer(self, sid, name):
        at = self.r.pos
        if self.r.u8("section footer") != FOOTER:
            raise StreamError(at, f"missing section footer for '{name}'")
        got = self.r.be(4, "footer section id")
        if got != sid:
            raise StreamError(at, f"footer for section {got}, expected {sid} ('{name}')")

    def trailer(self):
        at = self.r.pos
        if at == len(self.data):
            self.out("no VM description trailer")
            return
        if self.r.u8("trailer type") != VMDESCRIPTION:
            raise StreamError(at, "bytes after EOF are not a VM description")
        length = self.r.be(4, "VM description length")
        body = self.r.take(length, "VM description")
        try:
            json.loads(body)
        except ValueError as e:
            raise StreamError(at + 5, f"VM description is not JSON: {e}")
        if self.r.pos != len(self.data):
            raise StreamError(self.r.pos, f"{len(self.data) - self.r.pos} bytes after the trailer")
        self.out(f"@{at}: VM description ({length} bytes of JSON)")

    def ram_summary(self):
        for name, b in self.ram.blocks.items():
            self.out(f"ram block '{name}': {b['length'] // PAGE_SIZE} pages, "
                     f"{b['pages']} sent with data, {b['zero']} zero records")

    def extract(self, outdir):
        os.makedirs(outdir, exist_ok=True)
        for name, b in self.ram.blocks.items():
            path = os.path.join(outdir, "ram-" + name.replace("/", "_") + ".bin")
            with open(path, "wb") as f:
                f.truncate(b["length"])
                for addr, page in sorted(b["data"].items()):
                    f.seek(addr)
                    f.write(page)
        with open(os.path.join(outdir, "devices.json"), "w") as f:
            json.dump(self.devices, f, indent=2, default=str)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("file")
    p.add_argument("--verify", action="store_true", help="check the framing only; quiet on success")
    p.add_argument("--extract", metavar="DIR", help="write RAM blocks and device state to DIR")
    p.add_argument("--offset", type=int, default=0, help="stream starts at this byte offset")
    opts = p.parse_args()

    with open(opts.file, "rb") as f:
        data = f.read()[opts.offset:]
    quiet = opts.verify and not opts.extract
    a = Analyzer(data, keep_pages=bool(opts.extract), out=(lambda *_: None) if quiet else print)
    try:
        a.run()
    except StreamError as e:
        print(f"{opts.file}: {e}", file=sys.stderr)
        sys.exit(1)
    if not quiet:
        a.ram_summary()
    if opts.extract:
        a.extract(opts.extract)
    if opts.verify:
        print(f"{opts.file}: stream OK ({len(data)} bytes, {len(a.sections)} sections)")


if __name__ == "__main__":
    main()
