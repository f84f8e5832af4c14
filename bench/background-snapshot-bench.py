#!/usr/bin/env python3
"""Background snapshot of a running a-b guest: how long it takes, and how much it slows the guest.

For each side (tern, QEMU) it boots the a-b guest of migration-bench.py
(anonymous RAM: userfaultfd write-protect covers it, not a private file
mapping), waits for its first 'B' (every page of its range written), and
measures the guest's speed in sweeps per second: a-b adds one to the first
byte of every page of its range per sweep, so a thread samples the first
byte of the range every 20 ms (tern: qtest read; QEMU: HMP xp) and counts
its steps.  It measures --window seconds before the snapshot, then turns on
background-snapshot and saves with `migrate file:` (QEMU 7.2: `exec:cat`)
until the MIGRATION event says completed.  The table shows median [min-max]
of the snapshot time, the downtime (the instant), the file size, and the
guest's speed during the snapshot as a share of its speed before.  Most of
the slowdown is the first sweep after the instant, when every page of the
range is copied out before its first write.

    bench/background-snapshot-bench.py --sizes 1G --runs 5
    bench/background-snapshot-bench.py --no-qemu --runs 3 --ab-range 1M-129M
"""
import argparse
import importlib.util
import os
import re
import shutil
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("migration_bench",
                                               os.path.join(HERE, "migration-bench.py"))
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
import ternvm  # noqa: E402


def options(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default=os.environ.get("TERN_BUILD", "build"))
    p.add_argument("--sizes", default="1G", help="comma-separated RAM sizes (default 1G)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--no-qemu", action="store_true")
    p.add_argument("--accel", choices=["auto", "kvm", "interp"], default="interp",
                   help="tern's accelerator, QEMU kvm or tcg alike (default interp: this "
                        "host's KVM emulates the guest at ~1 M instructions/s)")
    p.add_argument("--ab-range", default="1M-513M",
                   help="pages a-b writes, all saved as data (default 1M-513M)")
    p.add_argument("--window", type=float, default=3.0,
                   help="seconds of guest speed measured before the snapshot (3)")
    o = p.parse_args(argv)
    base = ["--build", o.build, "--workloads", "a-b", "--sizes", o.sizes,
            "--ab-range", o.ab_range, "--accel", o.accel, "--transports", "unix"]
    if o.no_qemu:
        base.append("--no-qemu")
    return o, mb.options(base)


class SweepCounter(threading.Thread):
    """Counts a-b's sweeps by sampling the first byte of its range (it wraps at 256)."""

    def __init__(self, vm, kind, addr):
        super().__init__(daemon=True)
        self.vm, self.kind, self.addr = vm, kind, addr
        # QEMU: a monitor of its own, as the main thread's waits for events on the first.
        self.qmp = None
        if kind == "qemu":
            self.qmp = ternvm.QMP(os.path.join(vm.dir, "sampler.sock"))
        self.sweeps = 0
        self.stop = threading.Event()
        self.last = self.read()

    def read(self):
        if self.kind == "tern":
            return self.vm.qtest.memread(self.addr, 1)[0]
        out = self.qmp.hmp(f"xp /1bx 0x{self.addr:x}")
        return int(re.search(r":\s*0x([0-9a-f]+)", out).group(1), 16)

    def run(self):
        while not self.stop.wait(0.02):
            b = self.read()
            self.sweeps += (b - self.last) % 256
            self.last = b

    def rate(self, seconds):
        start, t0 = self.sweeps, time.monotonic()
        time.sleep(seconds)
        return (self.sweeps - start) / (time.monotonic() - t0)


def start_vm(bench, vmm, size, rundir):
    d = os.path.join(rundir, "src")
    os.makedirs(d)
    args = bench.vm_args(vmm, ("a-b", size, "unix"), "src", rundir)
    if vmm.kind == "qemu":
        args += ["-qmp", f"unix:{os.path.join(d, 'sampler.sock')},server=on,wait=off"]
    return ternvm.VM(vmm.binary, args, "src", d, qtest=vmm.kind == "tern")


def snapshot_once(bench, vmm, size, run, window):
    rundir = os.path.join(bench.workdir, f"{vmm.key}-{size // mb.MiB}M-{run}")
    os.makedirs(rundir)
    vm = start_vm(bench, vmm, size, rundir)
    counter = None
    try:
        vm.qmp.command("migrate-set-capabilities", capabilities=[
            {"capability": "events", "state": True},
            {"capability": "background-snapshot", "state": True}])
        vm.wait_serial(b"B", timeout=600)
        counter = SweepCounter(vm, vmm.kind, bench.opts.ab_start)
        counter.start()
        before = counter.rate(window)
        path = os.path.join(rundir, "snap")
        sweeps, t0 = counter.sweeps, time.monotonic()
        # QEMU 7.2 has no file: transport (8.2+).
        uri = f"exec:cat > {path}" if vmm.kind == "qemu" else f"file:{path}"
        vm.qmp.command("migrate", uri=uri)
        ev = vm.qmp.wait_event("MIGRATION", timeout=600,
                               match=lambda d: d["status"] in ("completed", "failed"))
        wall = time.monotonic() - t0
        during = (counter.sweeps - sweeps) / wall
        info = vm.qmp.command("query-migrate")
        if ev["data"]["status"] != "completed":
            raise RuntimeError(f"{vmm.label}: {info.get('error-desc', 'failed')}")
        status = vm.qmp.command("query-status")["status"]
        return {"wall": wall, "downtime": info.get("downtime", 0),
                "size": os.path.getsize(path), "before": before, "during": during,
                "runstate": status}
    finally:
        if counter:
            counter.stop.set()
            counter.join()
        vm.kill()


def spread(values, fmt):
    return f"{fmt(statistics.median(values))} [{fmt(min(values))}-{fmt(max(values))}]"


def main(argv=None):
    o, mopts = options(sys.argv[1:] if argv is None else argv)
    bench = mb.Bench(mopts)
    bench.setup_vmms()
    rows = []
    try:
        for size in mopts.sizes:
            for vmm in bench.vmms:
                if vmm.skip_reason:
                    continue
                runs = []
                for run in range(o.runs):
                    r = snapshot_once(bench, vmm, size, run, o.window)
                    print(f"  {vmm.label} {mb.size_name(size)} run {run + 1}: "
                          f"{r['wall']:.2f} s, downtime {r['downtime']} ms, "
                          f"guest {r['during']:.1f} sweeps/s during vs {r['before']:.1f} before, "
                          f"source {r['runstate']}", flush=True)
                    runs.append(r)
                rows.append((vmm, size, runs))
    finally:
        shutil.rmtree(bench.workdir, ignore_errors=True)
    for note in bench.notes:
        print(note)
    print(f"\nbackground-snapshot of a running a-b guest (range {o.ab_range}), "
          f"median [min-max] of {o.runs}")
    print(f"{'side':8} {'RAM':>5} {'time s':>18} {'downtime ms':>14} {'file MiB':>10} "
          f"{'guest speed during/before':>26}")
    for vmm, size, runs in rows:
        share = [r["during"] / r["before"] if r["before"] else 0 for r in runs]
        print(f"{vmm.label:8} {mb.size_name(size):>5} "
              f"{spread([r['wall'] for r in runs], lambda v: f'{v:.2f}'):>18} "
              f"{spread([r['downtime'] for r in runs], lambda v: f'{v:.0f}'):>14} "
              f"{statistics.median(r['size'] for r in runs) / mb.MiB:10.0f} "
              f"{spread(share, lambda v: f'{v * 100:.0f}%'):>26}")


if __name__ == "__main__":
    main()
