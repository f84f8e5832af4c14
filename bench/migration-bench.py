#!/usr/bin/env python3
"""Live-migration benchmark: tern against QEMU, same guests, same parameters.

For every configuration of the matrix (workload x RAM size x transport) it
starts a source and a destination, migrates over QMP with max-bandwidth
unlimited and the default downtime-limit, and reads query-migrate on the
source: total-time, downtime, setup-time, transferred, mbps.  tern and QEMU
runs alternate (A B A B ...).  Workloads:

  idle    the guest halts at once; RAM is untouched (fresh)
  filled  the same idle guest over RAM filled with random bytes host-side
          (memory-backend-file over a random file, share=off, prealloc=on,
          on the source and the destination alike)
  a-b     the guest increments one byte in every page of [1 MiB, 100 MiB)
          forever; downtime is checked against downtime-limit

With --postcopy both sides get postcopy-ram (the destination also
postcopy-blocktime) and migrate-start-postcopy is issued once the first pass
over RAM ended (dirty-sync-count 2; --postcopy-after 0: right after migrate,
so the switch comes before any page went); the table adds the destination's
blocktime and, for tern, its page-request latency p50/p99 (QEMU before 10.1
reports no latency).  A run that converged before the switch took effect
says "postcopy no".  --preempt adds postcopy-preempt on both sides.

Transports: unix, tcp, and tcp-tls (tcp with TLS, tls-creds-psk objects
on both sides and tls-creds set, the same command line for tern and QEMU;
--tls-priority makes both negotiate the same cipher, e.g.
"NORMAL:-CHACHA20-POLY1305:+CHACHA20-POLY1305" for AES-128-GCM).
Every run also records each side's CPU time during the migration
(/proc/PID/stat), shown per GiB transferred.

--legacy-compress N turns on the (deprecated, QEMU <= 9.0) compress
capability on both sides of every run, tern and QEMU alike, with N
compress threads at --compress-level (QEMU's 1) and --decompress-threads
(QEMU's 2); runs record the compression counters (pages, busy, size).

--xbzrle off,on adds the xbzrle capability as a dimension (the source's
cache at --xbzrle-cache-size, QEMU's 64 MiB by default); runs with it also
report QEMU's xbzrle-cache counters (cache-miss rate, encoded pages).

tern boots the flat build of tests/guest/ with -kernel; QEMU boots the
boot-sector build of the same program from an IDE disk.  Prints one table
(median [min-max] per side and the tern/QEMU ratio), with the machine's
memcpy, fresh-page write and unix-socket bandwidth measured in the same run,
and writes a CSV, the table and a PNG chart under bench/results/.
"""

import argparse
import csv
import datetime
import os
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import ternvm  # noqa: E402

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
WORKLOADS = ("idle", "filled", "a-b")
# The guest program each workload boots (tests/guest/NAME.bin / NAME.img).
PROGRAM = {"idle": "idle", "filled": "idle", "a-b": "a-b"}
# Boot-sector defaults table (include/hw/guest-params.h): u32 start, end,
# seed, flags right before the 0x55aa signature.
BOOTSECT_OFF_PARAMS = 494
# Until the tests/guest build exists: cli; hlt; jmp $-3, padded, signed.
FALLBACK_IDLE_BOOTSECT = bytes([0xFA, 0xF4, 0xEB, 0xFD]) + bytes(506) + b"\x55\xaa"
def downtime_phases(info_src, info_dst):
    """tern's x-downtime-phases of both sides, as CSV columns (QEMU: none)."""
    src = info_src.get("x-downtime-phases", {})
    dst = info_dst.get("x-downtime-phases", {})
    return {"phase_stop_ms": src.get("stop", ""), "phase_ram_ms": src.get("ram", ""),
            "phase_device_ms": src.get("device", ""),
            "dst_phase_load_ms": dst.get("load", ""), "dst_phase_resume_ms": dst.get("resume", "")}


# query-migrate on the source: the figures every run records.
FIELDS = ["vmm", "accel", "workload", "size", "transport", "run", "status",
          "total_ms", "downtime_ms", "setup_ms", "transferred", "mbps",
          "throughput_gbps", "dst_done_ms", "downtime_limit_ms", "over_limit",
          "passes", "postcopy", "postcopy_requests", "blocktime_ms", "lat_p50_us",
          "lat_p99_us", "multifd_bytes", "src_cpu_ms_per_gib", "dst_cpu_ms_per_gib",
          "src_busiest_thread", "src_busiest_ms_per_gib", "dst_busiest_thread",
          "dst_busiest_ms_per_gib", "critical_ms_per_gib",
          "phase_stop_ms", "phase_ram_ms", "phase_device_ms", "dst_phase_load_ms",
          "dst_phase_resume_ms",
          "xbzrle", "xbzrle_pages", "xbzrle_bytes", "xbzrle_cache_miss",
          "xbzrle_cache_miss_rate", "xbzrle_overflow",
          "compress_pages", "compress_busy", "compressed_mb", "error"]


def parse_size(text):
    units = {"": 1, "K": KiB, "M": MiB, "G": GiB, "T": 1 << 40}
    t = text.strip().upper()
    if t.endswith("IB"):
        t = t[:-2]
    elif t.endswith("B"):
        t = t[:-1]
    num = t.rstrip("KMGT")
    if not num or t[len(num):] not in units:
        raise argparse.ArgumentTypeError(f"bad size: {text!r}")
    return int(float(num) * units[t[len(num):]])


def size_name(n):
    if n % GiB == 0:
        return f"{n // GiB} GiB"
    return f"{n // MiB} MiB"


def size_arg(n):
    """@n as a command-line size: 1M rather than 1048576."""
    for unit, suffix in ((GiB, "G"), (MiB, "M"), (KiB, "K")):
        if n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


def csv_list(choices):
    def parse(text):
        items = [x.strip() for x in text.split(",") if x.strip()]
        bad = [x for x in items if x not in choices]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)}")
        return items
    return parse


def options(argv):
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[2:]))
    p.add_argument("--build", default=env("TERN_BUILD", "build"), help="meson build directory")
    p.add_argument("--tern", help="tern binary (default BUILD/tern or BUILD/system/tern)")
    p.add_argument("--qemu", default=shutil.which("qemu-system-x86_64"),
                   help="QEMU binary (default qemu-system-x86_64 on PATH)")
    p.add_argument("--baseline", metavar="TERN",
                   help="a second tern binary (another build, e.g. main's) run beside "
                        "the first, as column 'base' (with --verify-side, verifying as "
                        "the 'verify' side does)")
    p.add_argument("--verify-side", action="store_true",
                   help="two sides, 'rp': this tern with return-path, and 'verify': with "
                        "return-path and x-verify-ram, on both ends, run in turn with the "
                        "others (issue 17's cost: verify against rp)")
    p.add_argument("--no-tern", action="store_true", help="run QEMU only")
    p.add_argument("--no-qemu", action="store_true", help="run tern only")
    p.add_argument("--workloads", type=csv_list(WORKLOADS), default=list(WORKLOADS),
                   help="comma-separated: idle,filled,a-b (default all)")
    p.add_argument("--sizes", type=lambda s: [parse_size(x) for x in s.split(",")],
                   default=[GiB, 4 * GiB], help="comma-separated RAM sizes (default 1G,4G)")
    p.add_argument("--transports", type=csv_list(("unix", "tcp", "tcp-tls")),
                   default=["unix", "tcp"],
                   help="comma-separated: unix,tcp (default both)")
    p.add_argument("--tls-priority", metavar="STR",
                   help="tcp-tls: the GnuTLS priority both sides' credentials get (default: "
                        "each side's own; with PSK, QEMU's NORMAL negotiates ChaCha20 and "
                        "tern's AES-128-GCM on a CPU with AES instructions)")
    p.add_argument("--runs", type=int, default=5, help="runs per side and configuration (5)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 1 run, 256 MiB, every workload and transport")
    p.add_argument("--accel", choices=["auto", "kvm", "interp"], default="auto",
                   help="tern's accelerator; QEMU uses kvm when tern does, else tcg")
    p.add_argument("--max-bandwidth", type=parse_size, default=0,
                   help="bytes/s; 0 (default) is unlimited in QEMU 7.2+ and tern")
    p.add_argument("--downtime-limit", type=int,
                   help="ms (default: leave each VMM's default, 300 ms)")
    p.add_argument("--ab-range", default="1M-100M",
                   help="pages the a-b guest dirties, START-END (default 1M-100M)")
    p.add_argument("--multifd", type=int, default=0, metavar="N",
                   help="multifd with N channels on both sides, tern and QEMU alike (0: off)")
    p.add_argument("--compression", choices=["none", "zlib", "zstd"], default="none",
                   help="multifd-compression with --multifd (none)")
    p.add_argument("--legacy-compress", type=int, default=0, metavar="N",
                   help="capability compress with N compress threads on both sides (0: off)")
    p.add_argument("--compress-level", type=int, default=1, help="with --legacy-compress (1)")
    p.add_argument("--decompress-threads", type=int, default=2,
                   help="with --legacy-compress (2)")
    p.add_argument("--xbzrle", type=csv_list(("off", "on")), default=["off"],
                   help="comma-separated: off,on (default off): the xbzrle capability")
    p.add_argument("--xbzrle-cache-size", type=parse_size, default=64 * MiB,
                   help="xbzrle-cache-size with --xbzrle on (default 64M, QEMU's)")
    p.add_argument("--first-pass", action="store_true",
                   help="a-b: migrate only once the guest wrote its whole range (its first "
                        "'B'), so that every page of the range holds data")
    p.add_argument("--settle", type=float, default=1.0,
                   help="seconds the a-b guest runs after printing 'A' before migrating")
    p.add_argument("--cache-dir", default=env("TERN_BENCH_CACHE", "/tmp/tern-bench-cache"),
                   help="where the random RAM images are kept between runs")
    p.add_argument("--results", default=os.path.join(HERE, "results"),
                   help="where the CSV, table and chart go (default bench/results)")
    p.add_argument("--keep", action="store_true", help="keep every run's logs, not just failures")
    p.add_argument("--postcopy", action="store_true",
                   help="switch to postcopy after the first pass (see above)")
    p.add_argument("--preempt", action="store_true",
                   help="with --postcopy: postcopy-preempt on both sides too")
    p.add_argument("--postcopy-after", type=int, default=2, metavar="SYNCS",
                   help="with --postcopy: switch once dirty-sync-count reaches SYNCS "
                        "(default 2: after the first pass; 0: at once)")
    p.add_argument("--dst-fresh", action="store_true",
                   help="filled: the destination's RAM is memory-backend-ram without "
                        "prealloc, as a destination started with defaults has: it first "
                        "touches every page the stream fills")
    p.add_argument("--perf", metavar="DIR",
                   help="record a perf profile (perf record -g) of each side during each "
                        "migration into DIR/<run>-src<PID>-dst<PID>.data (what limits it, not how fast)")
    opts = p.parse_args(argv)
    if opts.quick:
        opts.runs, opts.sizes = 1, [256 * MiB]
    if opts.runs < 1:
        p.error("--runs must be at least 1")
    start, _, end = opts.ab_range.partition("-")
    opts.ab_start, opts.ab_end = parse_size(start), parse_size(end)
    if opts.ab_start % 4096 or opts.ab_end <= opts.ab_start:
        p.error("--ab-range: START must be page aligned and below END")
    if not opts.tern:
        candidates = [os.path.join(opts.build, "tern"), os.path.join(opts.build, "system", "tern")]
        opts.tern = next((c for c in candidates if os.access(c, os.X_OK)), candidates[0])
    return opts


def kvm_usable():
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
        return True
    except OSError:
        return False


class Vmm:
    """One side of the comparison: a binary, how to call it, what it runs on."""

    def __init__(self, kind, binary, accel, key=None, label=None, caps=()):
        self.kind = kind          # "tern" or "qemu": how to call it
        self.key = key or kind    # "tern", "base", "rp", "verify" or "qemu": its column and CSV name
        self.caps = caps          # capabilities this side adds on both ends
        self.binary = binary
        self.accel = accel        # tern: kvm/interp; QEMU: kvm/tcg
        self.label = label or ("tern" if kind == "tern" else "QEMU")
        self.version = ""
        self.skip_reason = None


class Bench:
    def __init__(self, opts):
        self.opts = opts
        self.workdir = tempfile.mkdtemp(prefix="tern-bench-")
        self.guest_dir = os.path.join(opts.build, "tests", "guest")
        self.results = []
        self.vmms = []
        self.notes = []

    # -- set-up ---------------------------------------------------------------

    def setup_vmms(self):
        o = self.opts
        kvm = kvm_usable()
        tern_accel = o.accel if o.accel != "auto" else ("kvm" if kvm else "interp")
        if not o.no_tern:
            tern = Vmm("tern", o.tern, tern_accel)
            if not os.access(o.tern, os.X_OK):
                tern.skip_reason = f"{o.tern} not built"
            self.vmms.append(tern)
        if o.verify_side:
            # x-verify-ram needs the return path: its own cost is "verify" against "rp".
            self.vmms.append(Vmm("tern", o.tern, tern_accel, key="rp", label="tern+rp",
                                 caps=("return-path",)))
            self.vmms.append(Vmm("tern", o.tern, tern_accel, key="verify", label="tern+verify",
                                 caps=("return-path", "x-verify-ram")))
        if o.baseline:
            # Beside --verify-side the baseline verifies too: the change measured is the verifier's.
            base = Vmm("tern", o.baseline, tern_accel, key="base",
                       label="base+verify" if o.verify_side else "base",
                       caps=("return-path", "x-verify-ram") if o.verify_side else ())
            if not os.access(o.baseline, os.X_OK):
                base.skip_reason = f"{o.baseline} not built"
            self.vmms.append(base)
        if not o.no_qemu:
            qemu = Vmm("qemu", o.qemu, "kvm" if tern_accel == "kvm" else "tcg")
            if not o.qemu:
                qemu.skip_reason = "qemu-system-x86_64 not installed"
            self.vmms.append(qemu)
        for v in self.vmms:
            if not v.skip_reason:
                out = subprocess.run([v.binary, "-version"], capture_output=True, text=True)
                first = (out.stdout.strip().split("\n") or [""])[0]
                words = first.replace("emulator", "").replace("version", "").split()
                v.version = words[1] if len(words) > 1 else ""   # "QEMU 7.2.22", "tern 0.1.0"
            if v.skip_reason:
                self.notes.append(f"{v.label} skipped: {v.skip_reason}")

    def tern_kernel(self, workload):
        path = os.path.join(self.guest_dir, PROGRAM[workload] + ".bin")
        if not os.path.exists(path):
            raise SkipRun(f"{path} not built")
        return path

    def qemu_image(self, workload, rundir):
        """The boot sector for @workload, its defaults table patched to the
        parameters tern gets through -append."""
        path = os.path.join(self.guest_dir, PROGRAM[workload] + ".img")
        if os.path.exists(path):
            with open(path, "rb") as f:
                image = bytearray(f.read())
            if len(image) != 512 or image[510:] != b"\x55\xaa":
                raise SkipRun(f"{path} is not a 512-byte boot sector")
            start, end = self.guest_range(workload)
            struct.pack_into("<4I", image, BOOTSECT_OFF_PARAMS, start, end, 1, 0)
        elif PROGRAM[workload] == "idle":
            image = FALLBACK_IDLE_BOOTSECT
        else:
            raise SkipRun(f"{path} not built")
        out = os.path.join(rundir, "guest.img")
        with open(out, "wb") as f:
            f.write(image)
        return out

    def guest_range(self, workload):
        """The work range every guest gets (idle ignores it)."""
        return self.opts.ab_start, self.opts.ab_end

    def random_file(self, size):
        """A file of @size random bytes, made once and kept in the cache dir."""
        os.makedirs(self.opts.cache_dir, exist_ok=True)
        path = os.path.join(self.opts.cache_dir, f"random-{size // MiB}M.bin")
        if os.path.exists(path) and os.path.getsize(path) == size:
            return path
        print(f"  (writing {size_name(size)} of random bytes to {path}, once)", flush=True)
        tmp = path + ".part"
        with open(tmp, "wb") as f:
            left = size
            while left:
                n = min(left, 64 * MiB)
                f.write(os.urandom(n))
                left -= n
        os.rename(tmp, path)
        return path

    # -- one run --------------------------------------------------------------

    def psk_dir(self):
        """A keys.psk for tls-creds-psk, made once per bench."""
        d = os.path.join(self.workdir, "psk")
        if not os.path.exists(d):
            os.makedirs(d, mode=0o700)
            with open(os.path.join(d, "keys.psk"), "w") as f:
                f.write(f"qemu:{os.urandom(32).hex()}\n")
        return d

    def vm_args(self, vmm, cfg, role, rundir):
        workload, size, transport = cfg[0], cfg[1], cfg[2]
        mem = []
        if workload == "filled" and role == "dst" and self.opts.dst_fresh:
            # The same block name ("mem"), anonymous and untouched.
            mem = ["-object", f"memory-backend-ram,id=mem,size={size}"]
        elif workload == "filled":
            # Both sides get the same command line, as a migration's
            # destination usually does (prealloc makes the pages private first).
            backend = (f"memory-backend-file,id=mem,size={size},"
                       f"mem-path={self.random_file(size)},share=off,prealloc=on")
            mem = ["-object", backend]
        if vmm.kind == "tern":
            start, end = self.guest_range(workload)
            args = ["-m", f"{size // MiB}M", "-accel", vmm.accel, "-name", role, *mem,
                    "-kernel", self.tern_kernel(workload),
                    "-append", f"start={size_arg(start)},end={size_arg(end)},seed=1,flags=0"]
            if mem:
                args += ["-machine", "memory-backend=mem"]
        else:
            machine = "pc,memory-backend=mem" if mem else "pc"
            # debug-threads: QEMU names its threads (per-thread CPU figures).
            args = ["-machine", machine, "-accel", vmm.accel, "-nodefaults",
                    "-m", f"{size // MiB}M", "-name", f"{role},debug-threads=on", *mem,
                    "-drive", f"file={self.qemu_image(workload, rundir)},format=raw,if=ide"]
        if transport == "tcp-tls":
            endpoint = "client" if role == "src" else "server"
            prio = f",priority={self.opts.tls_priority}" if self.opts.tls_priority else ""
            args += ["-object", f"tls-creds-psk,id=tls0,endpoint={endpoint},"
                                f"dir={self.psk_dir()}{prio}"]
        if role == "dst":
            args += ["-incoming", "defer"]
        return args

    def wait_ready(self, vm, workload):
        """Return once the source guest is in its steady state."""
        if workload == "a-b":
            vm.wait_serial(b"A", timeout=120)
            if self.opts.first_pass:
                vm.wait_serial(b"B", timeout=300)
            time.sleep(self.opts.settle)
            return
        # idle: QEMU's guest first runs the BIOS (seconds under an emulating
        # KVM); wait for the halt.  tern's flat guest halts at once.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                regs = vm.qmp.hmp("info registers")
            except ternvm.QMPError:
                regs = ""
            if "HLT=" not in regs:
                time.sleep(0.2)
                return
            if "HLT=1" in regs:
                return
            time.sleep(0.1)
        raise TimeoutError(f"{vm.name}: guest never halted")

    def start_vm(self, vmm, cfg, role, rundir, vms):
        d = os.path.join(rundir, role)
        os.makedirs(d)
        # prealloc=on of a filled guest runs before the QMP greeting: 4 GiB
        # under load took QEMU over 30 s.
        vm = ternvm.VM(vmm.binary, self.vm_args(vmm, cfg, role, rundir), role, d, qtest=False,
                       qmp_timeout=30 + 30 * cfg[1] / GiB)
        vms.append(vm)
        return vm

    def accel_in_use(self, vmm, vm):
        if vmm.kind == "qemu":
            return vmm.accel
        try:
            return "kvm" if vm.qmp.command("query-kvm").get("enabled") else "interp"
        except ternvm.QMPError:
            return vmm.accel

    @staticmethod
    def final_info(src):
        """query-migrate once the figures are in: QEMU announces "completed"
        before it has computed total-time and downtime, so until then it
        reports them as 0."""
        deadline = time.monotonic() + 5
        while True:
            info = src.qmp.command("query-migrate")
            if (info.get("status") != "completed" or info.get("total-time", 0) > 0
                    or time.monotonic() > deadline):
                return info
            time.sleep(0.01)

    def migrate_once(self, vmm, cfg, run):
        workload, size, transport, xbzrle = cfg
        rundir = tempfile.mkdtemp(prefix=f"{vmm.key}-{workload}-{size // MiB}M-{transport}-"
                                         f"xbzrle-{xbzrle}-", dir=self.workdir)
        row = dict(vmm=vmm.key, accel=vmm.accel, workload=workload, size=size,
                   transport=transport, xbzrle=xbzrle, run=run, status="error")
        vms = []
        try:
            src = self.start_vm(vmm, cfg, "src", rundir, vms)
            row["accel"] = self.accel_in_use(vmm, src)
            self.wait_ready(src, workload)
            dst = self.start_vm(vmm, cfg, "dst", rundir, vms)
            caps = [{"capability": "events", "state": True}]
            if self.opts.multifd:
                caps.append({"capability": "multifd", "state": True})
            for vm in (src, dst):
                vm_caps = caps + ([{"capability": "postcopy-ram", "state": True}]
                                  if self.opts.postcopy else [])
                if self.opts.postcopy and self.opts.preempt:
                    vm_caps.append({"capability": "postcopy-preempt", "state": True})
                if self.opts.postcopy and vm is dst:
                    vm_caps.append({"capability": "postcopy-blocktime", "state": True})
                vm_caps += [{"capability": c, "state": True} for c in vmm.caps]
                vm.qmp.command("migrate-set-capabilities", capabilities=vm_caps)
                if self.opts.multifd:
                    vm.qmp.command("migrate-set-parameters", **{
                        "multifd-channels": self.opts.multifd,
                        "multifd-compression": self.opts.compression})
                if self.opts.legacy_compress:
                    vm.qmp.command("migrate-set-capabilities",
                                   capabilities=[{"capability": "compress", "state": True}])
                    vm.qmp.command("migrate-set-parameters", **{
                        "compress-threads": self.opts.legacy_compress,
                        "compress-level": self.opts.compress_level,
                        "decompress-threads": self.opts.decompress_threads})
            params = {"max_bandwidth": self.opts.max_bandwidth}
            if xbzrle == "on":
                # The source only: a destination loads deltas without the capability.
                src.qmp.command("migrate-set-capabilities",
                                capabilities=[{"capability": "xbzrle", "state": True}])
                params["xbzrle_cache_size"] = self.opts.xbzrle_cache_size
            if self.opts.downtime_limit is not None:
                params["downtime_limit"] = self.opts.downtime_limit
            src.qmp.command("migrate-set-parameters", **params)
            if transport == "tcp-tls":
                for vm in (src, dst):
                    vm.qmp.command("migrate-set-parameters", tls_creds="tls0")
            limit = src.qmp.command("query-migrate-parameters")["downtime-limit"]

            if transport == "unix":
                uri = f"unix:{os.path.join(rundir, 'mig.sock')}"
                dst.qmp.command("migrate-incoming", uri=uri)
            else:
                dst.qmp.command("migrate-incoming", uri="tcp:127.0.0.1:0")
                addr = dst.qmp.command("query-migrate")["socket-address"][0]
                uri = f"tcp:{addr['host']}:{addr['port']}"

            timeout = 120 + 60 * size / GiB
            cpu0 = [cpu_ms(vm) for vm in (src, dst)]
            threads = ThreadCpu([vm.proc.pid for vm in (src, dst)])
            perf = self.perf_start(vmm, cfg, run, (src, dst))
            t0 = time.time()
            src.qmp.command("migrate", uri=uri)
            if self.opts.postcopy:
                self.start_postcopy_after(src, self.opts.postcopy_after, timeout)
            try:
                ev = src.qmp.wait_event("MIGRATION", timeout=timeout,
                                        match=lambda d: d["status"] in ("completed", "failed",
                                                                        "cancelled"))
            except TimeoutError:
                src.qmp.command("migrate_cancel")
                raise RuntimeError(f"not completed after {timeout:.0f} s") from None
            info = self.final_info(src)
            if ev["data"]["status"] != "completed":
                raise RuntimeError(f"source: {info.get('status')}: {info.get('error-desc', '')}")
            dev = dst.qmp.wait_event("MIGRATION", timeout=60,
                                     match=lambda d: d["status"] in ("completed", "failed"))
            if dev["data"]["status"] != "completed":
                info_dst = dst.qmp.command("query-migrate")
                raise RuntimeError(f"destination failed: {info_dst.get('error-desc', '')}")
            per_thread = threads.stop()
            cpu = [cpu_ms(vm) - c for vm, c in zip((src, dst), cpu0)]
            self.perf_stop(perf)
            status = dst.qmp.command("query-status")["status"]
            if status != "running":
                raise RuntimeError(f"destination guest is {status}, not running")

            if self.opts.postcopy:
                self.record_postcopy(row, info, dst)
            ram = info.get("ram", {})
            total = info.get("total-time", 0)
            downtime = info.get("downtime", 0)
            row.update(status="completed", total_ms=total, downtime_ms=downtime,
                       setup_ms=info.get("setup-time", 0),
                       transferred=ram.get("transferred", 0),
                       mbps=round(ram.get("mbps", 0), 1),
                       throughput_gbps=round(size / max(total, 1) * 1000 / 1e9, 4),
                       dst_done_ms=round((ternvm.event_time(dev) - t0) * 1000),
                       downtime_limit_ms=limit,
                       over_limit=int(downtime > limit),
                       passes=ram.get("dirty-sync-count", 0),
                       multifd_bytes=ram.get("multifd-bytes", 0),
                       sent_mb=round(ram.get("transferred", 0) / 1e6, 1),
                       src_cpu_ms_per_gib=round(cpu[0] * GiB / max(ram.get("transferred", 0), 1)),
                       dst_cpu_ms_per_gib=round(cpu[1] * GiB / max(ram.get("transferred", 0), 1)))
            row.update(thread_figures(per_thread, cpu, ram.get("transferred", 0)))
            row.update(downtime_phases(info, dst.qmp.command("query-migrate")))
            c = info.get("compression")
            if c:
                row.update(compress_pages=c["pages"], compress_busy=c["busy"],
                           compressed_mb=round(c["compressed-size"] / 1e6, 1))
            x = info.get("xbzrle-cache")
            if x:
                row.update(xbzrle_pages=x["pages"], xbzrle_bytes=x["bytes"],
                           xbzrle_cache_miss=x["cache-miss"],
                           xbzrle_cache_miss_rate=round(x["cache-miss-rate"], 3),
                           xbzrle_overflow=x["overflow"])
        except SkipRun as e:
            row.update(status="skipped", error=str(e))
        except Exception as e:  # one run's failure is a row, never the end of the bench
            row.update(error=str(e).replace("\n", " ")[:300], cause=str(e).split("\n")[0])
            for vm in vms:
                tail = vm.stderr().strip()
                if tail:
                    row["error"] += f" [{vm.name}: {tail[-200:]}]"
                    row["cause"] = f"{vm.name}: {tail.splitlines()[-1]}"
        finally:
            for vm in vms:
                vm.kill()
            if row["status"] == "completed" and not self.opts.keep:
                shutil.rmtree(rundir, ignore_errors=True)
            else:
                row["logs"] = rundir
        return row

    def perf_start(self, vmm, cfg, run, vms):
        """With --perf: a system-wide `perf record -g` (threads the migration
        starts are in it; `perf report --pid` splits the sides), the file
        named after both sides' pids."""
        if not self.opts.perf:
            return []
        os.makedirs(self.opts.perf, exist_ok=True)
        pids = "-".join(f"{vm.name}{vm.proc.pid}" for vm in vms)
        out = os.path.join(self.opts.perf, f"{vmm.key}-{cfg[0]}-{cfg[1] // MiB}M-{cfg[2]}-"
                                           f"{run}-{pids}.data")
        proc = subprocess.Popen(["perf", "record", "-q", "-a", "-g", "-o", out],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)     # perf starts asynchronously; not a measurement
        return [proc]

    @staticmethod
    def perf_stop(procs):
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            p.wait(timeout=60)

    @staticmethod
    def start_postcopy_after(src, syncs, timeout):
        """migrate-start-postcopy once dirty-sync-count reaches @syncs (2: the
        first pass over RAM ended), unless the migration ended before."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = src.qmp.command("query-migrate")
            if info.get("status") not in ("setup", "active"):
                return
            if info.get("ram", {}).get("dirty-sync-count", 0) >= syncs:
                src.qmp.command("migrate-start-postcopy")
                return
            time.sleep(0.002)

    @staticmethod
    def record_postcopy(row, info, dst):
        ram = info.get("ram", {})
        dinfo = dst.qmp.command("query-migrate")
        row.update(postcopy=int(ram.get("postcopy-bytes", 0) > 0),
                   postcopy_requests=ram.get("postcopy-requests", 0),
                   blocktime_ms=dinfo.get("postcopy-blocktime"),
                   lat_p50_us=dinfo.get("x-postcopy-latency-p50"),
                   lat_p99_us=dinfo.get("x-postcopy-latency-p99"))

    # -- the matrix -----------------------------------------------------------

    def configurations(self):
        o = self.opts
        return [(w, s, t, x) for w in o.workloads for s in o.sizes for t in o.transports
                for x in o.xbzrle]

    def run(self):
        active = [v for v in self.vmms if not v.skip_reason]
        for cfg in self.configurations():
            failed = set()
            for run in range(self.opts.runs):
                for vmm in active:
                    if vmm.key in failed:
                        continue
                    row = self.migrate_once(vmm, cfg, run)
                    self.results.append(row)
                    self.report_run(row)
                    if row["status"] != "completed":
                        failed.add(vmm.key)   # the rest of its runs would fail alike

    def report_run(self, r):
        head = f"  {r['vmm']:<4} {r['workload']:<6} {size_name(r['size']):>7} " \
               f"{r['transport']:<4} xbzrle {r['xbzrle']:<3} #{r['run'] + 1}"
        if r["status"] == "completed":
            flag = "  DOWNTIME > LIMIT" if r["over_limit"] else ""
            pc = ""
            if "postcopy" in r:
                pc = (f", postcopy {'yes' if r['postcopy'] else 'no'}, "
                      f"{r['postcopy_requests']} requests, blocktime {r['blocktime_ms']} ms, "
                      f"latency p50 {r['lat_p50_us']} us p99 {r['lat_p99_us']} us")
            print(f"{head}: total {r['total_ms']} ms, downtime {r['downtime_ms']} ms, "
                  f"{r['throughput_gbps']:.2f} GB/s, {r['passes']} passes, "
                  + (f"xbzrle {r['xbzrle_pages']} pages, miss rate "
                     f"{r['xbzrle_cache_miss_rate']}, " if "xbzrle_pages" in r else "")
                  + f"dst done {r['dst_done_ms']} ms{flag}{pc}", flush=True)
            for side in ("src", "dst"):
                groups = sorted(((k.split(":", 1)[1], v) for k, v in r.items()
                                 if k.startswith(f"{side}_cpu:")), key=lambda g: -g[1])
                print(f"      {side} CPU ms/GiB by thread: "
                      + ", ".join(f"{n} {v}" for n, v in groups), flush=True)
        else:
            print(f"{head}: {r['status'].upper()}: {r.get('error', '')}"
                  + (f" (logs: {r['logs']})" if r["status"] == "error" else ""), flush=True)

    def cleanup(self):
        kept = any(r.get("logs") and r["status"] == "error" for r in self.results)
        if not kept and not self.opts.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)


def cpu_ms(vm):
    """User plus system CPU time of @vm's process so far, in ms."""
    with open(f"/proc/{vm.proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def task_cpu_ms(pid):
    """{tid: (name, user + system CPU ms)} for every live thread of @pid."""
    tids = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                text = f.read()
        except OSError:     # it exited meanwhile: its last sample stands
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        tids[int(tid)] = (name, (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK"))
    return tids


class ThreadCpu:
    """Each thread's CPU time in some processes, from now until stop().

    A thread's figures are read every 50 ms and the last read kept, so a
    thread that exits before the end (multifd's) still counts, with at most
    its last 50 ms missing: thread_figures() books what the process's own
    total has beyond its threads' as "(exited)"."""

    def __init__(self, pids, period=0.05):
        self.pids, self.period = pids, period
        self.start = {pid: task_cpu_ms(pid) for pid in pids}
        self.last = {pid: dict(t) for pid, t in self.start.items()}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.poll, daemon=True)
        self.thread.start()

    def sample(self):
        for pid in self.pids:
            try:
                self.last[pid].update(task_cpu_ms(pid))
            except OSError:     # the process is gone
                pass

    def poll(self):
        while not self.done.wait(self.period):
            self.sample()

    def stop(self):
        """Per process (in the order given), [(thread name, CPU ms since
        the start)] for every thread that ran."""
        self.done.set()
        self.thread.join()
        self.sample()
        return [[(name, ms - self.start[pid].get(tid, (name, 0))[1])
                 for tid, (name, ms) in self.last[pid].items()
                 if ms > self.start[pid].get(tid, (name, 0))[1]]
                for pid in self.pids]


# tern's vCPU threads ("vcpu0") and QEMU's with debug-threads ("CPU 0/KVM").
VCPU_THREAD = re.compile(r"vcpu\d+$|CPU \d+/")


def thread_figures(per_thread, cpu, transferred):
    """Row columns from ThreadCpu.stop() for (source, destination) and each
    process's CPU ms: every thread group (threads of one name added up) per
    GiB sent, as "src_cpu:NAME", and the busiest single thread on each
    side, whose sum estimates the migration's critical path (a pipeline
    goes no faster than its busiest stage).  vCPU threads are not the
    migration's: the a-b guest's runs all along, so they are left out of
    the busiest (not of the groups)."""
    per_gib = GiB / max(transferred, 1)
    row = {"critical_ms_per_gib": 0}
    for side, threads, total in zip(("src", "dst"), per_thread, cpu):
        groups = {}
        for name, ms in threads:
            groups[name] = groups.get(name, 0) + ms
        exited = total - sum(groups.values())
        if exited >= 10:    # one clock tick is rounding, not a thread
            groups["(exited)"] = exited
        for name, ms in groups.items():
            row[f"{side}_cpu:{name}"] = round(ms * per_gib)
        busiest = max((t for t in threads if not VCPU_THREAD.match(t[0])),
                      key=lambda t: t[1], default=("-", 0))
        row[f"{side}_busiest_thread"] = busiest[0]
        row[f"{side}_busiest_ms_per_gib"] = round(busiest[1] * per_gib)
        row["critical_ms_per_gib"] += row[f"{side}_busiest_ms_per_gib"]
    return row


class SkipRun(Exception):
    """A run that cannot happen here (a guest image not built yet)."""


# -- machine figures ------------------------------------------------------------

def machine_figures(build):
    """memcpy, fresh-page write and unix-socket GB/s from bench-machine, or {}."""
    exe = os.path.join(build, "bench", "bench-machine")
    if not os.access(exe, os.X_OK):
        return {}
    out = subprocess.run([exe], capture_output=True, text=True)
    figures = {}
    for line in out.stdout.splitlines():
        name, _, value = line.partition(":")
        if value.strip().endswith("GB/s"):
            figures[name.strip()] = float(value.split()[0])
    return figures


# -- summary ---------------------------------------------------------------------

METRICS = [("total ms", "total_ms", "{:.0f}"), ("downtime ms", "downtime_ms", "{:.0f}"),
           ("GB/s", "throughput_gbps", "{:.2f}"), ("MB sent", "sent_mb", "{:.0f}"),
           ("src CPU ms/GiB", "src_cpu_ms_per_gib", "{:.0f}"),
           ("dst CPU ms/GiB", "dst_cpu_ms_per_gib", "{:.0f}"),
           ("src busiest thread ms/GiB", "src_busiest_ms_per_gib", "{:.0f}"),
           ("dst busiest thread ms/GiB", "dst_busiest_ms_per_gib", "{:.0f}"),
           ("critical path ms/GiB", "critical_ms_per_gib", "{:.0f}")]
# Only with --legacy-compress.
COMPRESS_METRICS = [("compressed pages", "compress_pages", "{:.0f}"),
                    ("compressed MB", "compressed_mb", "{:.1f}")]
POSTCOPY_METRICS = [("blocktime ms", "blocktime_ms", "{:.0f}"),
                    ("req p50 us", "lat_p50_us", "{:.0f}"),
                    ("req p99 us", "lat_p99_us", "{:.0f}")]
# Only for configurations with xbzrle on.
XBZRLE_METRICS = [("cache-miss rate", "xbzrle_cache_miss_rate", "{:.3f}"),
                  ("xbzrle pages", "xbzrle_pages", "{:.0f}")]


def cfg_of(r):
    """The configuration a result row belongs to."""
    return (r["workload"], r["size"], r["transport"], r["xbzrle"])


def spread(values, fmt):
    if not values:
        return "-"
    med = statistics.median(values)
    return f"{fmt.format(med)} [{fmt.format(min(values))}–{fmt.format(max(values))}]"


def summary_rows(bench):
    """Per configuration and metric: (cfg, metric, {vmm: values}, note)."""
    rows = []
    for cfg in bench.configurations():
        runs = {v.key: [r for r in bench.results
                         if cfg_of(r) == cfg
                         and r["vmm"] == v.key and r["status"] == "completed"]
                for v in bench.vmms if not v.skip_reason}
        metrics = (METRICS + (POSTCOPY_METRICS if bench.opts.postcopy else [])
                   + (XBZRLE_METRICS if cfg[3] == "on" else [])
                   + (COMPRESS_METRICS if bench.opts.legacy_compress else []))
        for label, key, fmt in metrics:
            values = {k: [r[key] for r in rs if r.get(key) is not None]
                      for k, rs in runs.items()}
            note = ""
            if key in ("src_busiest_ms_per_gib", "dst_busiest_ms_per_gib"):
                side = key[:3]
                note = "; ".join(f"{k} " + ", ".join(sorted({r[f'{side}_busiest_thread']
                                                             for r in rs}))
                                 for k, rs in runs.items() if rs)
            if key == "downtime_ms":
                note = "over limit: " + ", ".join(
                    f"{k} {sum(r['over_limit'] for r in rs)} of {len(rs)}"
                    for k, rs in runs.items())
            rows.append((cfg, label, fmt, values, note))
    return rows


def format_table(bench, machine):
    o = bench.opts
    vmm_desc = ", ".join(f"{v.label} {v.version} ({v.accel})".replace("  ", " ")
                         for v in bench.vmms if not v.skip_reason)
    bw = "unlimited" if o.max_bandwidth == 0 else f"{o.max_bandwidth} B/s"
    dl = f"{o.downtime_limit} ms" if o.downtime_limit is not None else "default"
    pc = ""
    if o.postcopy:
        pc = ("; postcopy at once" if o.postcopy_after == 0 else
              f"; postcopy at dirty-sync-count {o.postcopy_after}")
    multifd = (f"multifd {o.multifd} channel(s), compression {o.compression}"
               if o.multifd else "no multifd")
    if o.legacy_compress:
        multifd += (f"; capability compress, {o.legacy_compress} thread(s) at level "
                    f"{o.compress_level}, {o.decompress_threads} decompress thread(s)")
    lines = [f"Migration: {vmm_desc or 'nothing ran'}; max-bandwidth {bw}, "
             f"downtime-limit {dl}{pc}; {multifd}; {o.runs} run(s) per side, alternating; "
             f"median [min–max]"]
    if machine:
        lines.append("Machine (bench-machine, median of 5): " + ", ".join(
            f"{k} {v:.2f} GB/s" for k, v in machine.items()))
    lines += bench.notes
    # One column per side that ran, then the first side's median over each other's.
    sides = [v for v in bench.vmms if not v.skip_reason] or bench.vmms
    header = ["workload", "size", "transport", "xbzrle", "metric", *[v.label for v in sides],
              *[f"{sides[0].label}/{v.label}" for v in sides[1:]], ""]
    table = [header]
    for (w, s, t, x), label, fmt, values, note in summary_rows(bench):
        columns = [values.get(v.key, []) for v in sides]
        ratios = []
        for other in columns[1:]:
            ratio = "-"
            if columns[0] and other and statistics.median(other):
                ratio = f"{statistics.median(columns[0]) / statistics.median(other):.2f}"
            ratios.append(ratio)
        first = label == METRICS[0][0]
        table.append([w if first else "", size_name(s) if first else "", t if first else "",
                      x if first else "", label, *[spread(c, fmt) for c in columns], *ratios,
                      note])
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, r in enumerate(table):
        lines.append("  ".join(c.ljust(widths[j]) for j, c in enumerate(r)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths[:-1]))
    failures = {}
    for r in bench.results:
        if r["status"] == "error":
            key = (r["vmm"], r.get("cause") or r["error"])
            failures.setdefault(key, []).append(f"{r['workload']} {size_name(r['size'])} "
                                                f"{r['transport']} xbzrle {r['xbzrle']}")
    for (vmm, error), where in failures.items():
        lines.append(f"{vmm} failed ({', '.join(where)}): {error}")
    return "\n".join(lines)


def write_csv(bench, path, machine):
    # Then one column per thread group that ran anywhere ("src_cpu:mig/src").
    groups = sorted({k for r in bench.results for k in r if k.startswith(("src_cpu:", "dst_cpu:"))})
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS + groups, extrasaction="ignore")
        w.writeheader()
        for r in bench.results:
            w.writerow(r)
        for k, v in machine.items():
            w.writerow({"vmm": "machine", "workload": k, "throughput_gbps": v})


def write_chart(bench, path):
    """Throughput and total time per configuration, tern beside QEMU; False
    when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    cfgs = bench.configurations()
    names = [f"{w}\n{size_name(s)} {t}" + ("\nxbzrle" if x == "on" else "")
             for w, s, t, x in cfgs]
    kinds = [v for v in bench.vmms if not v.skip_reason]
    fig, axes = plt.subplots(2, 1, figsize=(max(8, 1.1 * len(cfgs) + 2), 8), sharex=True)
    width = 0.8 / max(1, len(kinds))
    # Log scales: idle and filled differ by two orders of magnitude.
    for ax, (key, label) in zip(axes, [("throughput_gbps", "GB/s, RAM / total time (log)"),
                                       ("total_ms", "total time, ms (log)")]):
        for k, vmm in enumerate(kinds):
            med, lo, hi = [], [], []
            for cfg in cfgs:
                vals = [r[key] for r in bench.results if r["vmm"] == vmm.key
                        and r["status"] == "completed"
                        and cfg_of(r) == cfg]
                m = statistics.median(vals) if vals else 0
                med.append(m)
                lo.append(m - min(vals) if vals else 0)
                hi.append(max(vals) - m if vals else 0)
            xs = [i + (k - (len(kinds) - 1) / 2) * width for i in range(len(cfgs))]
            ax.bar(xs, med, width, yerr=[lo, hi], capsize=3, label=f"{vmm.label} ({vmm.accel})")
        ax.set_ylabel(label)
        if any(r["status"] == "completed" for r in bench.results):
            ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
        ax.legend()
    axes[1].set_xticks(range(len(cfgs)))
    axes[1].set_xticklabels(names, fontsize=8)
    fig.suptitle("Live migration: tern vs QEMU (median, min–max)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def main(argv=None):
    opts = options(sys.argv[1:] if argv is None else argv)
    bench = Bench(opts)
    bench.setup_vmms()
    if not any(not v.skip_reason for v in bench.vmms):
        print("migration-bench: neither tern nor QEMU can run: " + "; ".join(bench.notes))
        return 1
    print("migration-bench: machine figures...", flush=True)
    machine = machine_figures(opts.build)
    if not machine:
        bench.notes.append(f"machine figures skipped: {opts.build}/bench/bench-machine not built")
    print(f"migration-bench: {len(bench.configurations())} configurations x {opts.runs} run(s)",
          flush=True)
    try:
        bench.run()
    except KeyboardInterrupt:
        print("interrupted; summarising the runs so far")
    finally:
        bench.cleanup()

    table = format_table(bench, machine)
    print()
    print(table)
    os.makedirs(opts.results, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = os.path.join(opts.results, f"migration-{stamp}")
    write_csv(bench, base + ".csv", machine)
    with open(base + ".txt", "w") as f:
        f.write(table + "\n")
    charted = write_chart(bench, base + ".png")
    print(f"\nwrote {base}.csv, {base}.txt" + (f", {base}.png" if charted else
                                              " (no chart: python3-matplotlib missing)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
