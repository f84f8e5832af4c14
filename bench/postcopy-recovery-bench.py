#!/usr/bin/env python3
"""Postcopy recovery after a cut link: how long until postcopy runs again.

The a-b guest migrates over a unix socket through a proxy in this script.
Once the first pass over RAM ended the source switches to postcopy (its
background pass held to --postcopy-bw, so the cut falls in the middle; the
guest's faults still fetch what it touches); --cut-after seconds later the
proxy cuts every connection (counted from the destination's RESUME: a cut
before the guest runs there fails the migration, in QEMU and tern alike),
and --cut seconds after that the link heals.  Modes:

- tern-auto: tern with x-postcopy-auto-recover on both sides (the source
  makes up to 1000 attempts, the first after --delay ms, doubling); the
  heal is the proxy listening again, and nothing else is sent: the source
  reconnects through it, the destination listens again on its address.
- tern-manual / qemu-manual: what a management layer does at the heal:
  migrate-recover on the destination (a new unix socket) and migrate with
  resume on the source, at once.  QEMU has no automatic recovery.

At the heal the source's max-postcopy-bandwidth goes to 0, so the rest of
RAM goes at full speed.  Figures per run: heal -> postcopy-active (the
source's MIGRATION event, host clock), the same on the destination, the
total time (migrate -> completed), the recoveries counted (tern-auto), and pages
lost: the destination, stopped after completion, must hold a-b's pattern
(every page's first byte equal, but for one step down); each page that
breaks it counts.  Median [min-max] of --runs runs, modes interleaved.

    bench/postcopy-recovery-bench.py --runs 5
    bench/postcopy-recovery-bench.py --runs 5 --delay 20 --modes tern-auto
"""
import argparse
import importlib.util
import os
import select
import shutil
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
import ternvm  # noqa: E402

MiB = 1 << 20
PAGE = 4096


def boot_sector_params_offset():
    """Where the boot-sector guest keeps its defaults (migration-bench.py knows)."""
    spec = importlib.util.spec_from_file_location(
        "migration_bench", os.path.join(HERE, "migration-bench.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.BOOTSECT_OFF_PARAMS


class Proxy:
    """Forwards connections made to @listen_path to @target_path; cut() breaks
    them all and stops listening (connects are refused), heal() listens again."""

    def __init__(self, listen_path, target_path):
        self.listen_path = listen_path
        self.target_path = target_path
        self.lock = threading.Lock()
        self.listener = None
        self.pairs = {}             # socket -> its peer
        self.wake_r, self.wake_w = os.pipe()
        self.stopping = False
        self.heal()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def heal(self):
        with self.lock:
            if os.path.exists(self.listen_path):
                os.unlink(self.listen_path)
            self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.listener.bind(self.listen_path)
            self.listener.listen(8)
        os.write(self.wake_w, b"h")

    def cut(self):
        with self.lock:
            for s in list(self.pairs):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.pairs.clear()
            if self.listener:
                self.listener.close()   # the path stays: connects are refused
                self.listener = None
        os.write(self.wake_w, b"c")

    def stop(self):
        self.stopping = True
        self.cut()
        self.thread.join()
        os.close(self.wake_r)
        os.close(self.wake_w)

    def drop(self, s):
        peer = self.pairs.pop(s, None)
        for x in (s, peer):
            if x is not None:
                self.pairs.pop(x, None)
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                x.close()

    def run(self):
        while not self.stopping:
            with self.lock:
                watch = list(self.pairs) + ([self.listener] if self.listener else [])
            try:
                ready, _, _ = select.select(watch + [self.wake_r], [], [])
            except (ValueError, OSError):
                continue            # cut() closed one meanwhile
            with self.lock:
                for s in ready:
                    if s == self.wake_r:
                        os.read(self.wake_r, 64)
                    elif s is self.listener:
                        client, _ = s.accept()
                        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                        try:
                            upstream.connect(self.target_path)
                        except OSError:
                            # Nobody listens there yet: as a network would, refuse.
                            upstream.close()
                            client.close()
                            continue
                        self.pairs[client] = upstream
                        self.pairs[upstream] = client
                    elif s in self.pairs:
                        try:
                            data = s.recv(1 << 20)
                        except OSError:
                            data = b""
                        if not data:
                            self.drop(s)
                            continue
                        try:
                            self.pairs[s].sendall(data)
                        except OSError:
                            self.drop(s)


def median_range(values):
    if not values:
        return "-"
    return f"{statistics.median(values):.0f} [{min(values):.0f}-{max(values):.0f}]"


class Bench:
    def __init__(self, o):
        self.o = o
        self.t_start = time.time()
        self.guest_dir = os.path.join(o.build, "tests", "guest")
        self.tern = os.path.join(o.build, "system", "tern")

    def vm_args(self, kind, role, rundir):
        start, end = self.o.range
        if kind == "tern":
            args = ["-m", f"{self.o.ram}M", "-accel", self.o.accel,
                    "-kernel", os.path.join(self.guest_dir, "a-b.bin"),
                    "-append", f"start={start // MiB}M,end={end // MiB}M,seed=1,flags=0"]
        else:
            with open(os.path.join(self.guest_dir, "a-b.img"), "rb") as f:
                image = bytearray(f.read())
            struct.pack_into("<4I", image, boot_sector_params_offset(), start, end, 1, 0)
            img = os.path.join(rundir, "guest.img")
            with open(img, "wb") as f:
                f.write(image)
            accel = "kvm" if self.o.accel == "kvm" else "tcg"
            args = ["-machine", "pc", "-accel", accel, "-nodefaults", "-m", f"{self.o.ram}M",
                    "-drive", f"file={img},format=raw,if=ide"]
        if role == "dst":
            args += ["-incoming", "defer"]
        return args

    def first_bytes(self, kind, dst, rundir):
        """Byte 0 of every page of the a-b range on the stopped destination."""
        start, end = self.o.range
        if kind == "tern":
            # One byte a page: qtest's hex for the whole range would take minutes.
            return bytes(int(dst.qtest.cmd(f"readb 0x{addr:x}"), 16)
                         for addr in range(start, end, PAGE))
        else:
            path = os.path.join(rundir, "dst-ram.bin")
            dst.qmp.command("pmemsave", val=start, size=end - start, filename=path)
            with open(path, "rb") as f:
                out = f.read()
        return out[::PAGE]

    @staticmethod
    def pages_lost(first):
        """Pages breaking a-b's pattern (0 when every page arrived)."""
        bad, edges = 0, 0
        for i in range(1, len(first)):
            prev, cur = first[i - 1], first[i]
            if cur == prev:
                continue
            if (cur + 1) % 256 == prev and edges == 0:
                edges += 1
                continue
            bad += 1
        return bad

    def run(self, mode, work):
        kind = "qemu" if mode.startswith("qemu") else "tern"
        auto = mode.startswith("tern-auto")
        binary = self.o.qemu if kind == "qemu" else self.tern
        rundir = tempfile.mkdtemp(prefix=mode.replace("/", "-") + "-", dir=work)
        mig = os.path.join(rundir, "mig.sock")
        proxy_path = os.path.join(rundir, "proxy.sock")
        for role in ("src", "dst"):
            os.makedirs(os.path.join(rundir, role))
        dst = ternvm.VM(binary, self.vm_args(kind, "dst", rundir), "dst",
                        os.path.join(rundir, "dst"), qtest=kind == "tern")
        src = None
        proxy = None
        try:
            src = ternvm.VM(binary, self.vm_args(kind, "src", rundir), "src",
                            os.path.join(rundir, "src"), qtest=False)
            for vm in (src, dst):
                vm.qmp.command("migrate-set-capabilities", capabilities=[
                    {"capability": "events", "state": True},
                    {"capability": "postcopy-ram", "state": True}])
            if auto:
                delay = int(mode.split("/")[1].rstrip("ms"))
                src.qmp.command("migrate-set-parameters", x_postcopy_auto_recover=1000,
                                x_postcopy_auto_recover_delay=delay)
                dst.qmp.command("migrate-set-parameters", x_postcopy_auto_recover=1)
            # No precopy switchover (no downtime allowed): postcopy finishes it.
            src.qmp.command("migrate-set-parameters", max_bandwidth=0, downtime_limit=1,
                            max_postcopy_bandwidth=self.o.postcopy_bw * MiB)
            dst.qmp.command("migrate-incoming", uri=f"unix:{mig}")
            proxy = Proxy(proxy_path, mig)
            self.step("source up")
            src.wait_serial(b"B", timeout=300)     # a-b has swept its range once
            t0 = time.time()
            src.qmp.command("migrate", uri=f"unix:{proxy_path}")
            self.wait_first_pass(src)
            self.step("first pass done")
            src.qmp.command("migrate-start-postcopy")
            for vm in (src, dst):
                self.wait_status(vm, "postcopy-active")
            # The guest runs on the destination: from here a cut pauses, not fails.
            dst.qmp.wait_event("RESUME", timeout=300)
            self.step("postcopy-active")
            time.sleep(self.o.cut_after)
            t_cut = time.time()
            proxy.cut()
            for vm in (src, dst):
                self.wait_status(vm, "postcopy-paused")
            self.step("both paused")
            time.sleep(max(0.0, t_cut + self.o.cut - time.time()))
            t_heal = time.time()
            if auto:
                proxy.heal()
            else:
                rec = os.path.join(rundir, "recover.sock")
                dst.qmp.command("migrate-recover", uri=f"unix:{rec}")
                src.qmp.command("migrate", uri=f"unix:{rec}", resume=True)
            src.qmp.command("migrate-set-parameters", max_postcopy_bandwidth=0)
            self.step("healed")
            src_active = ternvm.event_time(self.wait_status(src, "postcopy-active"))
            dst_active = ternvm.event_time(self.wait_status(dst, "postcopy-active"))
            self.step("active again")
            done = ternvm.event_time(self.wait_status(src, "completed"))
            self.wait_status(dst, "completed")
            info = src.qmp.command("query-migrate")
            attempts = None
            if auto:
                attempts = info.get("x-postcopy-auto-recover", {}).get("recoveries")
            self.step("completed")
            dst.qmp.command("stop")
            lost = self.pages_lost(self.first_bytes(kind, dst, rundir))
            return {"heal_src_ms": (src_active - t_heal) * 1000,
                    "heal_dst_ms": (dst_active - t_heal) * 1000,
                    "total_ms": (done - t0) * 1000,
                    "lost": lost, "recoveries": attempts}
        except Exception as e:
            tails = "".join(f"\n    {vm.name} stderr: {vm.stderr().strip()[-1500:]}"
                            for vm in (src, dst) if vm)
            raise RuntimeError(f"{e}{tails}") from e
        finally:
            if proxy:
                proxy.stop()
            for vm in (src, dst):
                if vm:
                    vm.kill()
            shutil.rmtree(rundir, ignore_errors=True)

    def step(self, what):
        if self.o.verbose:
            print(f"    {time.time() - self.t_start:8.3f} {what}", flush=True)

    @staticmethod
    def wait_status(vm, status):
        ev = vm.qmp.wait_event("MIGRATION", timeout=300,
                               match=lambda d: d["status"] in (status, "failed", "completed"))
        if ev["data"]["status"] != status:
            raise RuntimeError(f"{vm.name}: {ev['data']['status']} before {status}: "
                               f"{vm.qmp.command('query-migrate')}")
        return ev

    @staticmethod
    def wait_first_pass(src):
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            ram = src.qmp.command("query-migrate").get("ram", {})
            if ram.get("dirty-sync-count", 0) >= 2:
                return
            time.sleep(0.02)
        raise TimeoutError("the first pass never ended")


def parse_range(text):
    a, b = text.split("-")
    return int(a.rstrip("M")) * MiB, int(b.rstrip("M")) * MiB


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    p.add_argument("--qemu", default=shutil.which("qemu-system-x86_64"))
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--modes", default="tern-auto,tern-manual,qemu-manual")
    p.add_argument("--cut", type=float, default=2.0, help="seconds the link stays cut")
    p.add_argument("--cut-after", type=float, default=0.0,
                   help="seconds of postcopy before the cut (the guest's faults may"
                        " finish postcopy within half a second)")
    p.add_argument("--delay", default="100",
                   help="tern-auto: x-postcopy-auto-recover-delay (ms); a comma list runs"
                        " tern-auto once per value")
    p.add_argument("--postcopy-bw", type=int, default=8,
                   help="MiB/s of the background pass until the heal")
    p.add_argument("--verbose", action="store_true", help="print each step of a run")
    p.add_argument("--accel", default="interp", help="interp (QEMU: tcg) or kvm")
    p.add_argument("--ram", type=int, default=256, help="guest RAM, MiB")
    p.add_argument("--range", type=parse_range, default=parse_range("1M-192M"),
                   help="a-b's work range")
    o = p.parse_args()
    modes = []
    for m in o.modes.split(","):
        # tern-auto once per delay: "tern-auto/100ms".
        modes += [f"{m}/{d}ms" for d in o.delay.split(",")] if m == "tern-auto" else [m]
    if not o.qemu and "qemu-manual" in modes:
        print("qemu-manual skipped: qemu-system-x86_64 not found")
        modes.remove("qemu-manual")
    bench = Bench(o)
    results = {m: [] for m in modes}
    with tempfile.TemporaryDirectory(prefix="tern-recovery-bench-") as work:
        for i in range(o.runs):
            for m in modes:
                try:
                    r = bench.run(m, work)
                except Exception as e:      # one failed run is reported, not fatal
                    print(f"  run {i + 1} {m}: FAILED: {e}", flush=True)
                    continue
                results[m].append(r)
                print(f"  run {i + 1} {m}: heal->active src {r['heal_src_ms']:.0f} ms, "
                      f"dst {r['heal_dst_ms']:.0f} ms, total {r['total_ms']:.0f} ms, "
                      f"pages lost {r['lost']}"
                      + (f", recoveries {r['recoveries']}" if r["recoveries"] is not None
                         else ""), flush=True)
    print(f"\npostcopy recovery after a {o.cut:g} s cut (a-b {o.range[0] // MiB}M-"
          f"{o.range[1] // MiB}M, {o.ram} MiB, accel {o.accel}, unix socket through a proxy,"
          f" tern-auto/D: x-postcopy-auto-recover-delay D); median [min-max] of the runs")
    print(f"{'mode':<17} {'runs':>4} {'heal->active src ms':>22} {'heal->active dst ms':>22}"
          f" {'total ms':>22} {'pages lost':>11}")
    for m in modes:
        rs = results[m]
        print(f"{m:<17} {len(rs):>4} {median_range([r['heal_src_ms'] for r in rs]):>22}"
              f" {median_range([r['heal_dst_ms'] for r in rs]):>22}"
              f" {median_range([r['total_ms'] for r in rs]):>22}"
              f" {max([r['lost'] for r in rs], default='-'):>11}")
    print("pages lost: the most in any run.  heal: the proxy listens again (tern-auto) or"
          " the manual commands are sent (manual modes).")


if __name__ == "__main__":
    main()
