#!/usr/bin/env python3
"""Tests for scripts/analyze-stream.py on real streams.

A tern running the a-b guest under the interpreter migrates to file: (at an
offset) and to exec:cat; the analyser must walk both, show the guest's
memory in the extracted RAM (compared byte for byte with the source's memory
read over qtest) and decode every device section.  Corrupted copies
(truncated, a flipped byte in a header, a length, a footer) must each be
rejected by --verify naming the offset.  A stream written by
qemu-system-x86_64 proves the analyser is not tern-specific.

Environment: TERN_BINARY, TERN_GUEST_DIR, TERN_SOURCE_ROOT (set by meson);
TERN_QEMU_BINARY (default: qemu-system-x86_64 on PATH).  Run by hand with
test class names as arguments (none: all); prints TAP.
"""

import base64
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.environ.get("TERN_SOURCE_ROOT",
                      os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "analyze-stream.py")
TERN = os.environ.get("TERN_BINARY", os.path.join(ROOT, "build", "system", "tern"))
GUESTS = os.environ.get("TERN_GUEST_DIR", os.path.join(ROOT, "build", "tests", "guest"))
# TERN_QEMU_BINARY overrides the search; set it empty to see the QEMU test skip.
QEMU = os.environ.get("TERN_QEMU_BINARY", shutil.which("qemu-system-x86_64")) or None

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import ternvm  # noqa: E402

_spec = importlib.util.spec_from_file_location("analyze_stream", SCRIPT)
analyze = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(analyze)

MiB = 1 << 20
WORK_START, WORK_END = 1 * MiB, 4 * MiB     # the a-b guest's range
FILE_OFFSET = 8192                           # migrate file:PATH,offset=N


def run_analyser(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True,
                          timeout=120)


def exec_to(path):
    """An exec: URI that writes the stream to @path, then marks it whole:
    a migration completes when the stream is handed to cat, not when cat
    has written it (neither QEMU nor tern waits for the command)."""
    return f"exec:cat > {path} && touch {path}.done"


def read_exec_stream(path, timeout=120.0):
    """The bytes exec_to() wrote, once cat has finished."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path + ".done"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"cat did not finish writing {path}")
        time.sleep(0.01)
    with open(path, "rb") as f:
        return f.read()


def migrate(qmp, uri, timeout=120.0):
    """Migrate a running guest and wait for the end; returns the last
    query-migrate reply.  30 s of allowed downtime: the first check switches
    over, whatever bandwidth was measured under load."""
    qmp.command("migrate-set-parameters", downtime_limit=30000)
    qmp.command("migrate", uri=uri)
    deadline = time.monotonic() + timeout
    while True:
        info = qmp.command("query-migrate")
        if info.get("status") in ("completed", "failed", "cancelled"):
            return info
        if time.monotonic() > deadline:
            raise TimeoutError(f"migration to {uri} did not finish: {info}")
        time.sleep(0.05)


def walk(data, start=0):
    """The analyser's walk over @data (bytes), returning the Analyzer."""
    a = analyze.Analyzer(data, start, out=lambda *_: None)
    a.run()
    return a


def first_bytes(ram, start, end):
    return bytes(ram[off] for off in range(start, end, 4096))


class TernStreams(unittest.TestCase):
    """Streams from a live tern migration, shared by the tests below."""

    @classmethod
    def setUpClass(cls):
        for path in (TERN, os.path.join(GUESTS, "a-b.bin")):
            if not os.path.exists(path):
                raise unittest.SkipTest(f"{path} is not built")
        cls.dir = tempfile.mkdtemp(prefix="tern-analyzer-")
        with open(os.path.join(GUESTS, "a-b.bin"), "rb") as f:
            cls.kernel = f.read()
        os.mkdir(os.path.join(cls.dir, "src"))
        cls.file_stream = os.path.join(cls.dir, "file.bin")
        cls.exec_stream = os.path.join(cls.dir, "exec.bin")
        vm = ternvm.VM(TERN, ["-m", "16", "-accel", "interp", "-name", "analyzer",
                              "-kernel", os.path.join(GUESTS, "a-b.bin"),
                              "-append", f"start={WORK_START},end={WORK_END}"],
                       "src", os.path.join(cls.dir, "src"))
        try:
            vm.wait_serial(b"B", 1)
            info = migrate(vm.qmp, f"file:{cls.file_stream},offset={FILE_OFFSET}")
            assert info["status"] == "completed", info
            # The source is paused in postmigrate: its memory is what the stream holds.
            cls.source_ram = vm.qtest.memread(0, WORK_END)
            vm.qmp.command("cont")
            vm.wait_serial(b"B", vm.serial().count(b"B") + 1)
            info = migrate(vm.qmp, exec_to(cls.exec_stream))
            assert info["status"] == "completed", info
            cls.exec_source_ram = vm.qtest.memread(0, WORK_END)
        finally:
            vm.qmp.close()
            vm.kill()
        with open(cls.file_stream, "rb") as f:
            cls.file_data = f.read()
        cls.data = read_exec_stream(cls.exec_stream)
        cls.good = walk(cls.data)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    # ---- good streams ----

    def test_print_walks_every_part(self):
        res = run_analyser(self.exec_stream)
        self.assertEqual(res.returncode, 0, res.stderr)
        out = res.stdout
        self.assertIn("header: magic QEVM, version 3", out)
        self.assertRegex(out, r'@8: configuration \{"len": 7, "name": "tern-pc"')
        self.assertRegex(out, r"start id \d+ 'ram' instance 0 v4")
        self.assertRegex(out, r"end   id \d+ 'ram' instance 0 v4")
        self.assertRegex(out, r"full  id \d+ 'globalstate' instance 0 v1 \(\d+ bytes\) "
                              r'\{"size": 8, "runstate": "running"\}')
        self.assertRegex(out, r"@\d+: EOF")
        self.assertRegex(out, r"VM description \(\d+ bytes of JSON, \d+ devices\)")
        m = re.search(r"ram block 'pc.ram': 16777216 bytes, 4096 pages: (\d+) with data, "
                      r"(\d+) zero, 0 never sent", out)
        self.assertIsNotNone(m, out)
        # Every page went out once, as data or as a zero record.  How many
        # work pages are zero depends on where the guest's counters were
        # (a byte wraps to 0 every 256 sweeps), so only the code page is sure.
        self.assertEqual(int(m.group(1)) + int(m.group(2)), 4096)
        self.assertGreaterEqual(int(m.group(1)), 1)

    def test_verify_accepts_both_streams(self):
        res = run_analyser("--verify", self.exec_stream)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertRegex(res.stdout, r"stream OK \(\d+ bytes, \d+ sections, \d+ devices\)")
        res = run_analyser("--verify", "--offset", str(FILE_OFFSET), self.file_stream)
        self.assertEqual(res.returncode, 0, res.stderr)
        # Without the offset the file starts with zeros: not a stream.
        res = run_analyser("--verify", self.file_stream)
        self.assertEqual(res.returncode, 1)
        self.assertIn("offset 0 (0x0): bad magic", res.stderr)

    def test_offsets_are_file_offsets(self):
        a = walk(self.file_data, FILE_OFFSET)
        self.assertEqual(a.layout[0], (FILE_OFFSET, "header"))
        self.assertEqual(a.layout[1], (FILE_OFFSET + 8, "configuration"))

    def check_extracted(self, args, source_ram):
        out = tempfile.mkdtemp(dir=self.dir)
        res = run_analyser("--extract", out, *args)
        self.assertEqual(res.returncode, 0, res.stderr)
        with open(os.path.join(out, "ram-pc.ram.bin"), "rb") as f:
            ram = f.read()
        self.assertEqual(len(ram), 16 * MiB)
        # Byte for byte what the paused source holds, code and parameters included.
        self.assertEqual(ram[:WORK_END], source_ram)
        self.assertEqual(ram[0x10000:0x10000 + len(self.kernel)], self.kernel)
        self.assertEqual(ram[0x500:0x504], b"TERN")
        self.assertIsNone(ternvm.check_guest_pattern(first_bytes(ram, WORK_START, WORK_END)))
        self.assertEqual(ram[WORK_END:], bytes(len(ram) - WORK_END))
        with open(os.path.join(out, "devices.json")) as f:
            state = json.load(f)
        self.assertEqual(state["configuration"]["name"], "tern-pc")
        self.assertEqual(state["devices"]["globalstate/0"]["runstate"], "running")
        with open(os.path.join(out, "vmdesc.json")) as f:
            self.assertIn("devices", json.load(f))

    def test_extract_file_stream(self):
        self.check_extracted(["--offset", str(FILE_OFFSET), self.file_stream], self.source_ram)

    def test_extract_exec_stream(self):
        self.check_extracted([self.exec_stream], self.exec_source_ram)

    def test_every_described_device_decodes(self):
        described = {f"{d['name']}/{d['instance_id']}" for d in self.good.vmdesc["devices"]}
        self.assertEqual(set(self.good.devices), described)
        for name, state in self.good.devices.items():
            self.assertIsInstance(state, dict, name)
        devices = self.good.devices
        for name in ("cpu/0", "serial/0", "testdev/0", "globalstate/0"):
            self.assertIn(name, devices)
        # The vCPU was stopped inside the guest's code, in 32-bit flat mode.
        cpu = devices["cpu/0"]
        self.assertTrue(0x10000 <= cpu["env.eip"] < 0x10000 + len(self.kernel),
                        hex(cpu["env.eip"]))
        self.assertEqual(cpu["env.cr0"] & 1, 1)
        self.assertEqual(len(cpu["env.regs"]), 8)
        # The a-b guest wrote to the serial port: transmitter idle, no divisor latch.
        self.assertEqual(devices["serial/0"]["state"]["lcr"] & 0x80, 0)
        self.assertEqual(set(devices["testdev/0"]), {"counter", "control"})

    # ---- corrupted copies ----

    def at(self, what):
        """Offset of the first record whose label starts with @what."""
        return next(off for off, label in self.good.layout if label.startswith(what))

    def after(self, what):
        """Offset of the record after the first one labelled @what."""
        labels = self.good.layout
        i = next(i for i, (_, label) in enumerate(labels) if label.startswith(what))
        return labels[i + 1][0]

    def rejected(self, data, name):
        """Run --verify on @data; return the offset it names."""
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        res = run_analyser("--verify", path)
        self.assertEqual(res.returncode, 1, f"{name}: {res.stdout}")
        m = re.search(r": offset (\d+) \(0x([0-9a-f]+)\): (.+)", res.stderr)
        self.assertIsNotNone(m, res.stderr)
        self.assertEqual(int(m.group(1)), int(m.group(2), 16))
        return int(m.group(1)), m.group(3)

    def flipped(self, offset, name):
        data = bytearray(self.data)
        data[offset] ^= 0xFF
        return self.rejected(bytes(data), name)

    def test_truncated(self):
        eof = self.at("eof")
        cuts = {
            "header": 6,
            "configuration": 12,
            "ram block list": self.at("start ram") + 20,
            "page data": self.after("start ram") + 5 + 8 + 1 + 6 + 100,
            "device section": self.at("full globalstate") + 30,
            "before EOF": eof,
            "after EOF": eof + 1,
            "vmdesc length": eof + 3,
            "vmdesc": len(self.data) - 10,
        }
        for what, cut in cuts.items():
            with self.subTest(what):
                offset, msg = self.rejected(self.data[:cut], f"cut-{cut}")
                self.assertLessEqual(offset, cut)
                self.assertRegex(msg, r"ends|trailer")

    def test_flipped_header(self):
        self.assertEqual(self.flipped(0, "magic"), (0, "bad magic 0xae45564d "
                                                       "(not a migration stream)"))
        self.assertEqual(self.flipped(7, "version")[0], 4)
        self.assertEqual(self.flipped(8, "config-type")[0], 8)
        ram = self.at("start ram")
        offset, msg = self.flipped(ram, "section-type")
        self.assertEqual(offset, ram)
        offset, msg = self.flipped(ram + 6, "section-name")
        self.assertEqual(offset, ram)
        self.assertIn("section '\\x8dam'", msg)
        offset, msg = self.flipped(ram + 17 - 1, "section-version")
        self.assertEqual(offset, ram)
        self.assertIn("ram section version", msg)
        dev = self.at("full globalstate")
        self.assertEqual(self.flipped(dev + 1 + 4 + 1, "device-name")[0], dev)
        part = self.after("start ram")
        offset, msg = self.flipped(part + 1, "part-id")
        self.assertEqual(offset, part)
        self.assertIn("unknown section id", msg)
        offset, msg = self.flipped(part + 5 + 7, "page-flags")
        self.assertEqual(offset, part + 5)
        eof = self.at("eof")
        self.assertEqual(self.flipped(eof, "eof")[0], eof)
        self.assertEqual(self.flipped(eof + 1, "trailer-type")[0], eof + 1)

    def test_flipped_length(self):
        offset, msg = self.flipped(9, "config-name-length")
        self.assertEqual(offset, 9)
        self.assertIn("machine name length", msg)
        ram = self.at("start ram")
        mem_size = ram + 17
        offset, msg = self.flipped(mem_size + 8 + 1 + len("pc.ram") + 5, "block-length")
        self.assertEqual(offset, mem_size + 8)
        self.assertIn("overruns the MEM_SIZE total", msg)
        offset, msg = self.flipped(mem_size + 8, "block-name-length")
        self.assertEqual(offset, mem_size + 8)
        self.assertIn("ramblock id is not printable", msg)
        eof = self.at("eof")
        offset, msg = self.flipped(eof + 4, "vmdesc-length")
        self.assertGreaterEqual(offset, eof + 1)

    def test_flipped_footer(self):
        for what in ("start ram", "end ram", "full globalstate"):
            with self.subTest(what):
                footer = self.after(what) - 5
                offset, msg = self.flipped(footer, f"footer-{what}")
                self.assertEqual(offset, footer)
                self.assertIn("missing section footer", msg)
                offset, msg = self.flipped(footer + 4, f"footer-id-{what}")
                self.assertEqual(offset, footer)
                self.assertIn("footer names section", msg)

    def test_trailing_garbage(self):
        offset, msg = self.rejected(self.data + b"\0junk", "garbage")
        self.assertLessEqual(offset, len(self.data))


class Decoders(unittest.TestCase):
    def test_xbzrle_example(self):
        # docs/xbzrle.txt's example: 1001 unchanged, 15 new, 3 unchanged, 1, 1, 1.
        enc = bytes.fromhex("e9070f0102030405060708090a0b0c0d0e0f030167010169")
        page = analyze.xbzrle_decode(bytes(4096), enc, 0)
        self.assertEqual(page[1001:1016], bytes(range(1, 16)))
        self.assertEqual(page[1019], 0x67)
        self.assertEqual(page[1021], 0x69)
        self.assertEqual(page.count(0), 4096 - 17)
        with self.assertRaises(analyze.StreamError):
            analyze.xbzrle_decode(bytes(4096), bytes.fromhex("0101ff0000"), 7)

    def test_bad_magic_in_memory(self):
        with self.assertRaises(analyze.StreamError) as cm:
            walk(b"QEVX\0\0\0\3\0")
        self.assertEqual(cm.exception.offset, 0)


@unittest.skipIf(QEMU is None, "qemu-system-x86_64 is not installed")
class DisplayStream(unittest.TestCase):
    """A stream with the VGA: the draw guest's frame in the vga.vram block."""

    FRAME = 256 * 192 * 4                   # draw's 256x192x32 frame: 48 pages

    def test_vram_block(self):
        kernel = os.path.join(GUESTS, "draw.bin")
        if not os.path.exists(kernel):
            self.skipTest(f"{kernel} is not built")
        workdir = tempfile.mkdtemp(prefix="tern-analyzer-vga-")
        self.addCleanup(shutil.rmtree, workdir, True)
        stream = os.path.join(workdir, "vga.bin")
        vm = ternvm.VM(TERN, ["-m", "16", "-accel", "interp", "-device", "VGA",
                              "-kernel", kernel], "vga", workdir)
        try:
            deadline = time.monotonic() + 60
            while int(vm.qtest.cmd("readl 0x600"), 16) < 3:     # frames drawn
                self.assertLess(time.monotonic(), deadline, "draw is stuck")
                time.sleep(0.01)
            info = migrate(vm.qmp, exec_to(stream))
            self.assertEqual(info["status"], "completed", info)
            frame = vm.qtest.memread(0xE0000000, self.FRAME)
        finally:
            vm.qmp.close()
            vm.kill()
        read_exec_stream(stream)
        res = run_analyser("--verify", stream)
        self.assertEqual(res.returncode, 0, res.stderr)
        out = os.path.join(workdir, "x")
        res = run_analyser("--extract", out, stream)
        self.assertEqual(res.returncode, 0, res.stderr)
        # Every frame page holds colour; the rest of the 16 MiB was never drawn.
        self.assertIn("ram block 'vga.vram': 16777216 bytes, 4096 pages: 48 with data, "
                      "4048 zero, 0 never sent", res.stdout)
        with open(os.path.join(out, "ram-vga.vram.bin"), "rb") as f:
            vram = f.read()
        self.assertEqual(vram[:self.FRAME], frame)
        self.assertEqual(vram[self.FRAME:], bytes(len(vram) - self.FRAME))
        with open(os.path.join(out, "devices.json")) as f:
            vga = json.load(f)["devices"]["VGA/0"]
        # XRES, YRES, BPP and ENABLE (ENABLED | LFB_ENABLED) as draw set them.
        self.assertEqual(vga["vbe_regs"][1:5], [256, 192, 32, 0x41])


class MappedRamStream(unittest.TestCase):
    """A mapped-ram file: the analyser reads each block's header, bitmap and
    pages at their offsets, and names what is wrong in damaged copies."""

    @classmethod
    def setUpClass(cls):
        for path in (TERN, os.path.join(GUESTS, "a-b.bin")):
            if not os.path.exists(path):
                raise unittest.SkipTest(f"{path} is not built")
        cls.dir = tempfile.mkdtemp(prefix="tern-analyzer-mapped-")
        cls.stream = os.path.join(cls.dir, "mapped.bin")
        vm = ternvm.VM(TERN, ["-m", "16", "-accel", "interp", "-name", "mapped",
                              "-kernel", os.path.join(GUESTS, "a-b.bin"),
                              "-append", f"start={WORK_START},end={WORK_END}"],
                       "src", cls.dir)
        try:
            vm.wait_serial(b"B", 1)
            vm.qmp.command("migrate-set-capabilities", capabilities=[
                {"capability": "mapped-ram", "state": True}])
            info = migrate(vm.qmp, f"file:{cls.stream}")
            assert info["status"] == "completed", info
            cls.source_ram = vm.qtest.memread(0, WORK_END)
        finally:
            vm.qmp.close()
            vm.kill()
        with open(cls.stream, "rb") as f:
            cls.data = f.read()
        # The first block's header: after "\x06pc.ram" and its be64 length.
        entry = cls.data.index(b"\x06pc.ram" + (16 * MiB).to_bytes(8, "big"))
        cls.header = entry + 1 + 6 + 8
        cls.pages_at = int.from_bytes(cls.data[cls.header + 20:cls.header + 28], "big")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_verify_and_extract(self):
        res = run_analyser("--verify", self.stream)
        self.assertEqual(res.returncode, 0, res.stderr)
        out = os.path.join(self.dir, "x")
        res = run_analyser("--extract", out, self.stream)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertRegex(res.stdout, r"ram block 'pc.ram': 16777216 bytes, 4096 pages: \d+ "
                                     r"with data, \d+ zero or absent; mapped-ram bitmap at "
                                     rf"{self.header + 28}, pages at {self.pages_at}")
        with open(os.path.join(out, "ram-pc.ram.bin"), "rb") as f:
            ram = f.read()
        self.assertEqual(ram[:WORK_END], self.source_ram)
        self.assertEqual(ram[WORK_END:], bytes(len(ram) - WORK_END))

    def rejected(self, data, name):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        res = run_analyser("--verify", path)
        self.assertEqual(res.returncode, 1, res.stdout)
        return res.stderr

    def test_damaged(self):
        def patched(offset, raw):
            data = bytearray(self.data)
            data[offset:offset + len(raw)] = raw
            return bytes(data)

        cases = {
            "version": (patched(self.header, (2).to_bytes(4, "big")),
                        f"offset {self.header} .*mapped-ram header version 2"),
            "page size": (patched(self.header + 4, (65536).to_bytes(8, "big")),
                          "mapped-ram page size 65536"),
            "unaligned": (patched(self.header + 20, (self.pages_at + 8).to_bytes(8, "big")),
                          "is not page-aligned"),
            "cut": (self.data[:self.pages_at + 2 * MiB],
                    "the file ends at .* inside the page region of ramblock 'pc.ram'"),
        }
        for what, (data, expect) in cases.items():
            with self.subTest(what):
                self.assertRegex(self.rejected(data, what.replace(" ", "-")), expect)


class QemuStream(unittest.TestCase):
    """QEMU's own stream: the a-b boot sector running under TCG, migrated live."""

    def test_qemu_stream(self):
        img = os.path.join(GUESTS, "a-b.img")
        if not os.path.exists(img):
            self.skipTest(f"{img} is not built")
        workdir = tempfile.mkdtemp(prefix="tern-analyzer-qemu-")
        self.addCleanup(shutil.rmtree, workdir, True)
        with open(img, "rb") as f:
            boot = bytearray(f.read())
        boot[498:502] = WORK_END.to_bytes(4, "little")      # end of the work range
        disk = os.path.join(workdir, "a-b.img")
        with open(disk, "wb") as f:
            f.write(boot)
        stream = os.path.join(workdir, "qemu.bin")
        vm = ternvm.VM(QEMU, ["-nodefaults", "-machine", "pc", "-accel", "tcg", "-m", "32",
                              "-drive", f"file={disk},format=raw"],
                       "qemu", workdir, qtest=False)
        try:
            vm.wait_serial(b"B", 1)
            info = migrate(vm.qmp, exec_to(stream))
            self.assertEqual(info["status"], "completed", info)
        finally:
            vm.qmp.close()
            vm.kill()
        read_exec_stream(stream)
        res = run_analyser("--verify", stream)
        self.assertEqual(res.returncode, 0, res.stderr)
        out = os.path.join(workdir, "x")
        res = run_analyser("--extract", out, stream)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertRegex(res.stdout, r"@8: configuration \{\"len\": \d+, \"name\": \"pc-")
        with open(os.path.join(out, "devices.json")) as f:
            devices = json.load(f)["devices"]
        for name in ("cpu/0", "apic/0", "mc146818rtc/0", "globalstate/0"):
            self.assertIn(name, devices)
        self.assertEqual(devices["globalstate/0"]["runstate"], "running")
        self.assertIn("cpu/poll_control_msr", devices["cpu/0"])
        with open(os.path.join(out, "ram-pc.ram.bin"), "rb") as f:
            ram = f.read()
        # The boot sector's code and its parameter table (the CPU sets the GDT's accessed bits).
        self.assertEqual(ram[0x7C00:0x7C10], bytes(boot[:16]))
        self.assertEqual(ram[0x7C00 + 494:0x7E00], bytes(boot[494:]))
        self.assertIsNone(ternvm.check_guest_pattern(first_bytes(ram, WORK_START, WORK_END)))


@unittest.skipIf(QEMU is None, "qemu-system-x86_64 is not installed")
class QemuXbzrle(unittest.TestCase):
    """QEMU's XBZRLE pages, loaded by tern: QEMU under qtest (no vCPU runs)
    migrates live with the xbzrle capability while this test writes its
    memory.  The test rewrites a 1 MiB region every 10 ms (so every dirty
    sync finds pages to send and the migration cannot converge, and those
    pages overflow), and changes a few bytes of 64 data pages twice, waiting
    two syncs each time (a cache miss, then a delta).  A test process starved
    of CPU for longer than a pass can let QEMU converge early; the stream is
    still whole then, and the count of QEMU's XBZRLE records (which a final
    pass also sends) is what must show the deltas.  tern's RAM loader
    (ram-replay) must turn QEMU's RAM sections into exactly the memory QEMU
    had, and tern's encoder must produce each of QEMU's deltas byte for byte."""

    MEM = 64 * MiB
    DATA, DATA_PAGES = 8 * MiB, 64           # pages with random data, changed twice
    REGION, REGION_SIZE = 16 * MiB, 2 * MiB  # rewritten every 10 ms: a 2 s pass

    def drive(self, vm, done, what, timeout=120.0):
        """Rewrite the region every 10 ms until done() (a query-migrate reply -> bool)
        or the migration completed."""
        deadline = time.monotonic() + timeout
        while True:
            self.fill += 1
            vm.qtest.cmd(f"memset 0x{self.REGION:x} 0x{self.REGION_SIZE:x} 0x{self.fill & 0xff:x}")
            info = vm.qmp.command("query-migrate")
            if info.get("status") == "completed":
                # The memset just made may have come after the final pass.
                self.racing_fill = self.fill
                return info
            if done(info):
                return info
            if info.get("status") in ("failed", "cancelled") or time.monotonic() > deadline:
                raise AssertionError(f"{what} did not happen: {info}")
            time.sleep(0.01)

    def poke_data_pages(self, vm, rng):
        for p in range(self.DATA_PAGES):
            at = self.DATA + p * 4096 + rng.randrange(0, 4000)
            vm.qtest.cmd(f"write 0x{at:x} 0x8 0x{rng.getrandbits(64):016x}")

    def test_qemu_xbzrle_pages(self):
        replay = os.environ.get("TERN_RAM_REPLAY")
        if not replay or not os.path.exists(replay):
            self.skipTest("ram-replay is not built (TERN_RAM_REPLAY)")
        import random
        rng = random.Random(11)
        workdir = tempfile.mkdtemp(prefix="tern-analyzer-qemu-xbzrle-")
        self.addCleanup(shutil.rmtree, workdir, True)
        stream = os.path.join(workdir, "qemu.bin")
        self.fill = 0
        self.racing_fill = None
        vm = ternvm.VM(QEMU, ["-nodefaults", "-machine", "pc",
                              "-m", str(self.MEM // MiB)], "qemu", workdir)
        try:
            data = bytes(rng.getrandbits(8) for _ in range(self.DATA_PAGES * 4096))
            vm.qtest.cmd(f"write 0x{self.DATA:x} 0x{len(data):x} 0x{data.hex()}")
            vm.qmp.command("migrate-set-capabilities",
                           capabilities=[{"capability": "xbzrle", "state": True}])
            # A cache as large as the first 32 MiB: no two written pages share a slot.
            vm.qmp.command("migrate-set-parameters", xbzrle_cache_size=32 * MiB,
                           max_bandwidth=1000000, downtime_limit=1)
            vm.qmp.command("migrate", uri=exec_to(stream))
            syncs = lambda info: info.get("ram", {}).get("dirty-sync-count", 0)
            # After sync 2 the first round is out and QEMU encodes deltas.
            info = self.drive(vm, lambda i: syncs(i) >= 2, "dirty sync 2")
            for change in ("cache misses", "deltas"):
                if info.get("status") == "completed":
                    break       # memory must stay as migrated: it is compared below
                self.poke_data_pages(vm, rng)
                start = syncs(info)
                # Two syncs later the round after the first one went out whole.
                info = self.drive(vm, lambda i, n=start: syncs(i) >= n + 2, change)
            vm.qmp.command("migrate-set-parameters", max_bandwidth=1 << 30,
                           downtime_limit=30000)
            deadline = time.monotonic() + 120
            while info.get("status") != "completed":
                self.assertNotIn(info.get("status"), ("failed", "cancelled"), info)
                self.assertLess(time.monotonic(), deadline, info)
                time.sleep(0.05)
                info = vm.qmp.command("query-migrate")
            x = info["xbzrle-cache"]
            source = b"".join(
                base64.b64decode(vm.qtest.cmd(f"b64read 0x{at:x} 0x{MiB:x}"))
                for at in range(0, 32 * MiB, MiB))
        finally:
            vm.qmp.close()
            vm.kill()

        # The analyser cuts out the ram sections and records each delta it applies.
        payload, triples = bytearray(), bytearray()
        real_load, real_decode = analyze.RamSection.load, analyze.xbzrle_decode

        def load(section, r):
            start = r.pos
            real_load(section, r)
            payload.extend(r.data[start:r.pos])

        def decode(old, enc, at):
            new = real_decode(old, enc, at)
            triples.extend(len(enc).to_bytes(2, "big") + bytes(old) + new + bytes(enc))
            return new

        extracted = os.path.join(workdir, "analyser")
        os.mkdir(extracted)
        raw = read_exec_stream(stream)
        try:
            analyze.RamSection.load, analyze.xbzrle_decode = load, decode
            a = analyze.Analyzer(raw, 0, outdir=extracted, out=lambda *_: None)
            a.run()
        finally:
            analyze.RamSection.load, analyze.xbzrle_decode = real_load, real_decode
        deltas = sum(b.records["xbzrle"] for b in a.ram.blocks.values())

        blocks = os.path.join(workdir, "blocks.txt")
        with open(blocks, "w") as f:
            for b in a.ram.blocks.values():
                f.write(f"{b.name} {b.length}\n")
        with open(os.path.join(workdir, "payload.bin"), "wb") as f:
            f.write(payload)
        with open(os.path.join(workdir, "triples.bin"), "wb") as f:
            f.write(triples)
        loaded = os.path.join(workdir, "tern")
        os.mkdir(loaded)
        res = subprocess.run([replay, "load", blocks, os.path.join(workdir, "payload.bin"),
                              loaded], capture_output=True, text=True, timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr)
        with open(os.path.join(loaded, "ram-pc.ram.bin"), "rb") as f:
            tern_ram = f.read(32 * MiB)
        with open(os.path.join(extracted, "ram-pc.ram.bin"), "rb") as f:
            analyser_ram = f.read(32 * MiB)
        # Guest-physical 640 KiB..1 MiB is the VGA hole and the BIOS, not pc.ram.
        region = slice(self.REGION, self.REGION + self.REGION_SIZE)
        if self.racing_fill is not None and \
                source[region] == bytes([self.racing_fill & 0xff]) * self.REGION_SIZE:
            # QEMU completed while the test rewrote the region: either fill is right.
            before = bytes([(self.racing_fill - 1) & 0xff]) * self.REGION_SIZE
            source = bytearray(source)
            for ram in (tern_ram, analyser_ram):
                if ram[region] == before:
                    source[region] = before
        for name, ram in (("tern's loader", tern_ram), ("the analyser", analyser_ram)):
            for lo, hi in ((0, 0xA0000), (1 * MiB, 32 * MiB)):
                if ram[lo:hi] != source[lo:hi]:
                    first = next(i for i in range(lo, hi) if ram[i] != source[i])
                    self.fail(f"{name}: pc.ram differs from QEMU's memory at 0x{first:x}")
        res = subprocess.run([replay, "encode", os.path.join(workdir, "triples.bin")],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr)
        print(f"# {deltas} XBZRLE records from QEMU; {res.stdout.strip()}", flush=True)
        # Memory and every delta QEMU did send were checked above; whether QEMU
        # got to send the deltas this test is about depends on the host's load.
        if deltas < self.DATA_PAGES or not x["pages"] or not x["overflow"]:
            self.skipTest(f"QEMU converged early under load: {deltas} XBZRLE records, "
                          f"cache stats {x}; the memory and those records matched")


@unittest.skipIf(QEMU is None, "qemu-system-x86_64 is not installed")
class QemuCompress(unittest.TestCase):
    """QEMU's legacy compressed pages (capability compress, QEMU <= 9.0),
    loaded by tern: QEMU under qtest (no vCPU runs) holds 8 MiB of pages of
    several kinds and migrates with compress on, 2 threads at level 1.
    The analyser walks the stream (each compressed record one zlib stream
    of one page); tern's RAM loader, decompressing with its threads as a
    destination with the capability does, must turn QEMU's RAM sections
    into exactly the memory QEMU had.  The other direction cannot be tried:
    QEMU refuses tern's machine type."""

    MEM = 64 * MiB
    DATA, DATA_PAGES = 8 * MiB, 2048

    def page(self, rng, i):
        kind = i % 4
        if kind == 0:
            return bytes(rng.getrandbits(8) for _ in range(4096))      # incompressible
        if kind == 1:
            return bytes(rng.choice(b"abcdefgh ") for _ in range(4096))
        if kind == 2:
            return b"".join(bytes([rng.randrange(4)]) * 64 for _ in range(64))
        return bytes(4095) + bytes([rng.randrange(1, 256)])

    def test_qemu_compressed_pages(self):
        replay = os.environ.get("TERN_RAM_REPLAY")
        if not replay or not os.path.exists(replay):
            self.skipTest("ram-replay is not built (TERN_RAM_REPLAY)")
        import random
        rng = random.Random(5)
        workdir = tempfile.mkdtemp(prefix="tern-analyzer-qemu-compress-")
        self.addCleanup(shutil.rmtree, workdir, True)
        stream = os.path.join(workdir, "qemu.bin")
        vm = ternvm.VM(QEMU, ["-nodefaults", "-machine", "pc",
                              "-m", str(self.MEM // MiB)], "qemu", workdir)
        try:
            data = b"".join(self.page(rng, i) for i in range(self.DATA_PAGES))
            for at in range(0, len(data), MiB):
                chunk = data[at:at + MiB]
                vm.qtest.cmd(f"write 0x{self.DATA + at:x} 0x{len(chunk):x} 0x{chunk.hex()}")
            vm.qmp.command("migrate-set-capabilities",
                           capabilities=[{"capability": "compress", "state": True}])
            vm.qmp.command("migrate-set-parameters", compress_threads=2, compress_level=1,
                           max_bandwidth=1 << 30)
            info = migrate(vm.qmp, exec_to(stream))
            self.assertEqual(info["status"], "completed", info)
            c = info["compression"]
            source = b"".join(
                base64.b64decode(vm.qtest.cmd(f"b64read 0x{at:x} 0x{MiB:x}"))
                for at in range(0, 32 * MiB, MiB))
        finally:
            vm.qmp.close()
            vm.kill()
        self.assertGreater(c["pages"], 0, c)

        payload = bytearray()
        real_load = analyze.RamSection.load

        def load(section, r):
            start = r.pos
            real_load(section, r)
            payload.extend(r.data[start:r.pos])

        extracted = os.path.join(workdir, "analyser")
        os.mkdir(extracted)
        raw = read_exec_stream(stream)
        try:
            analyze.RamSection.load = load
            a = analyze.Analyzer(raw, 0, outdir=extracted, out=lambda *_: None)
            a.run()
        finally:
            analyze.RamSection.load = real_load
        compressed = sum(b.records["compressed"] for b in a.ram.blocks.values())
        # Every non-zero data page but a block's first, at least.
        self.assertGreaterEqual(compressed, self.DATA_PAGES * 3 // 4 - 1,
                                "QEMU sent too few compressed records")

        blocks = os.path.join(workdir, "blocks.txt")
        with open(blocks, "w") as f:
            for b in a.ram.blocks.values():
                f.write(f"{b.name} {b.length}\n")
        with open(os.path.join(workdir, "payload.bin"), "wb") as f:
            f.write(payload)
        loaded = os.path.join(workdir, "tern")
        os.mkdir(loaded)
        res = subprocess.run([replay, "load", blocks, os.path.join(workdir, "payload.bin"),
                              loaded], capture_output=True, text=True, timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr)
        with open(os.path.join(loaded, "ram-pc.ram.bin"), "rb") as f:
            tern_ram = f.read(32 * MiB)
        # Guest-physical 640 KiB..1 MiB is the VGA hole and the BIOS, not pc.ram.
        for lo, hi in ((0, 0xA0000), (1 * MiB, 32 * MiB)):
            if tern_ram[lo:hi] != source[lo:hi]:
                first = next(i for i in range(lo, hi) if tern_ram[i] != source[i])
                self.fail(f"tern's loader: pc.ram differs from QEMU's memory at 0x{first:x}")
        self.assertEqual(tern_ram[self.DATA:self.DATA + len(data)], data)
        print(f"# {compressed} compressed records from QEMU ({c['compressed-size']} bytes, "
              f"busy {c['busy']}); tern's loader reproduced QEMU's memory", flush=True)


class TapResult(unittest.TestResult):
    """Reports each test as a TAP line (meson's tap protocol): skips as
    "# SKIP reason", so that a run where everything skipped shows as SKIP."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def _line(self, ok, test, directive=""):
        self.count += 1
        print(f"{'ok' if ok else 'not ok'} {self.count} {test.id()}{directive}", flush=True)

    def _explain(self, test, err):
        print(f"FAIL: {test.id()}\n{self._exc_info_to_string(err, test)}", file=sys.stderr,
              flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._explain(test, err)
        self._line(False, test)

    def addError(self, test, err):
        super().addError(test, err)
        self._explain(test, err)
        self._line(False, test)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._explain(subtest, err)
            self._line(False, subtest)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(True, test, f" # SKIP {reason}")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._line(True, test, " # TODO expected failure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._line(False, test, " # unexpected success")


def main(names):
    """Run the named test classes (all without names) and print TAP."""
    loader = unittest.TestLoader()
    module = sys.modules[__name__]
    suite = (loader.loadTestsFromNames(names, module) if names
             else loader.loadTestsFromModule(module))
    result = TapResult()
    suite.run(result)
    print(f"1..{result.count}", flush=True)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
