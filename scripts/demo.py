#!/usr/bin/env python3
"""tern's main job, shown: migrate a running guest live between two tern processes.

Starts a source running the a-b guest (it increments one byte in every page,
forever, and prints 'B' after every 64 sweeps) and a destination waiting for
an incoming migration, migrates over QMP while drawing a progress bar, then
checks what arrived: the guest's memory pattern on the destination, the
guest still running there, and the source in postmigrate.

With --cpr the same guest, on memfd RAM, is restarted in place instead:
a new tern takes it over by cpr-transfer (the RAM's fds pass over a unix
socket, no page is copied), and the demo prints the guest's pause, from
STOP on the old process to RESUME on the new one.

With --display the guest is `draw` on a VGA (colour bands over a frame
counter, tests/guest/draw.S): the source's screen is dumped when it stops
for the switchover and the destination's once it has drawn on, and the
verdict says whether the bands match and the counter moved on.
"""

import argparse
import base64
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternvm  # noqa: E402
import display_demo  # noqa: E402

MiB = 1 << 20


def parse_size(text):
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    text = text.strip().upper().rstrip("B") if text.upper() != "B" else "1"
    num = text.rstrip("KMGT")
    return int(float(num) * units[text[len(num):]])


def human_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
    return f"{n:.1f} GiB"


def options():
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default=env("TERN_BUILD", "build"), help="meson build directory")
    p.add_argument("--ram", default=env("DEMO_RAM", "1G"), help="guest RAM size (default 1G)")
    p.add_argument("--dirty", default=env("DEMO_DIRTY", "64M"),
                   help="how much memory the guest keeps dirtying, from 1 MiB up (default 64M)")
    p.add_argument("--transport", default=env("DEMO_TRANSPORT", "unix"),
                   choices=["unix", "tcp", "file"], help="migration transport (default unix)")
    p.add_argument("--max-bandwidth", default=env("DEMO_MAX_BANDWIDTH", "1G"),
                   help="bytes/s cap; 0 = unlimited (default 1G)")
    p.add_argument("--downtime-limit", type=int, default=int(env("DEMO_DOWNTIME_LIMIT", "300")),
                   help="ms (default 300)")
    p.add_argument("--accel", default=env("DEMO_ACCEL", "auto"),
                   choices=["auto", "kvm", "interp"], help="accelerator (auto: kvm if usable)")
    p.add_argument("--content", default=env("DEMO_CONTENT", "random"),
                   choices=["random", "zero"],
                   help="source RAM before the guest starts: random bytes from a host file "
                        "(every page carries data, default) or untouched zero pages")
    p.add_argument("--cpr", action="store_true", default=bool(env("DEMO_CPR")),
                   help="restart tern in place under the running guest by cpr-transfer "
                        "(memfd RAM, nothing copied) and print the guest's pause "
                        "(also DEMO_CPR=1; try --ram 4G)")
    p.add_argument("--display", action="store_true", default=bool(env("DEMO_DISPLAY")),
                   help="run the draw guest on a VGA and compare screendumps across the "
                        "switchover (also DEMO_DISPLAY=1)")
    return p.parse_args()


class Demo:
    def __init__(self, opts):
        self.opts = opts
        self.binary = os.path.join(opts.build, "system", "tern")
        self.guest = os.path.join(opts.build, "tests", "guest",
                                  "draw.bin" if opts.display else "a-b.bin")
        self.workdir = tempfile.mkdtemp(prefix="tern-demo-")
        self.ram = parse_size(opts.ram)
        self.dirty_end = MiB + parse_size(opts.dirty)
        self.vms = []
        self.src_dump = None

    def random_file(self):
        """A file of random bytes the size of RAM, made once and kept in /tmp."""
        path = f"/tmp/tern-demo-random-{self.ram // MiB}M"
        if not os.path.exists(path) or os.path.getsize(path) != self.ram:
            print(f"making {path} ({human_bytes(self.ram)} of random data, once)")
            with open(path + ".tmp", "wb") as f:
                for _ in range(self.ram // (64 * MiB)):
                    f.write(os.urandom(64 * MiB))
                f.write(os.urandom(self.ram % (64 * MiB)))
            os.rename(path + ".tmp", path)
        return path

    def memory_args(self, name):
        """With random content the source's RAM is a private copy of the random
        file; the destination gets plain RAM of the same id to receive it."""
        if self.opts.cpr:
            return ["-object", f"memory-backend-memfd,id=mem,size={self.ram // MiB}M",
                    "-machine", "memory-backend=mem"]
        if self.opts.content == "zero":
            return []
        size = f"{self.ram // MiB}M"
        backend = (f"memory-backend-file,id=mem,size={size},mem-path={self.random_file()},"
                   "share=off,prealloc=on") if name == "src" else \
                  f"memory-backend-ram,id=mem,size={size}"
        return ["-object", backend, "-machine", "memory-backend=mem"]

    def start_vm(self, name, extra):
        accel = {"auto": ["-accel", "kvm", "-accel", "interp"],
                 "kvm": ["-accel", "kvm"], "interp": ["-accel", "interp"]}[self.opts.accel]
        guest = (["-device", "VGA"] if self.opts.display
                 else ["-append", f"start={MiB},end={self.dirty_end}"])
        args = ["-m", str(self.ram // MiB), *accel, "-name", name, *self.memory_args(name),
                "-kernel", self.guest, *guest, *extra]
        vm = ternvm.VM(self.binary, args, name, os.path.join(self.workdir, name))
        self.vms.append(vm)
        return vm

    def uris(self):
        t = self.opts.transport
        if t == "unix":
            u = f"unix:{os.path.join(self.workdir, 'mig.sock')}"
            return u, u
        if t == "tcp":
            return "tcp:127.0.0.1:0", None     # destination picks the port
        f = f"file:{os.path.join(self.workdir, 'stream.bin')}"
        return f, f

    def run(self):
        os.makedirs(os.path.join(self.workdir, "src"))
        os.makedirs(os.path.join(self.workdir, "dst"))
        if self.opts.cpr:
            return self.run_cpr()
        src = self.start_vm("src", [])
        accel = self.accel_in_use(src)
        if self.opts.display:
            frames = display_demo.wait_frames(src, 3)
            print(f"source: {self.opts.ram} guest running under {accel}, drawing on the VGA "
                  f"(frame {frames})")
        else:
            src.wait_serial(b"B", timeout=120)
            print(f"source: {self.opts.ram} guest running under {accel}, dirtying "
                  f"{human_bytes(self.dirty_end - MiB)} (serial: {src.serial()[:16]!r}...)")

        dst = self.start_vm("dst", ["-incoming", "defer"])
        for vm in (src, dst):
            vm.qmp.command("migrate-set-capabilities",
                           capabilities=[{"capability": "events", "state": True}])
        src.qmp.command("migrate-set-parameters",
                        max_bandwidth=parse_size(self.opts.max_bandwidth),
                        downtime_limit=self.opts.downtime_limit)
        if self.opts.display:
            # The source waits, stopped, at the switchover: its screen then.
            src.qmp.command("migrate-set-capabilities", capabilities=[
                {"capability": "pause-before-switchover", "state": True}])

        incoming_uri, outgoing_uri = self.uris()
        if self.opts.transport == "file":
            # A file migration is written whole, then read: source first.
            info = self.migrate_and_watch(src, outgoing_uri)
            dst.qmp.command("migrate-incoming", uri=incoming_uri)
        else:
            dst.qmp.command("migrate-incoming", uri=incoming_uri)
            if outgoing_uri is None:
                addr = dst.qmp.command("query-migrate")["socket-address"][0]
                outgoing_uri = f"tcp:{addr['host']}:{addr['port']}"
            info = self.migrate_and_watch(src, outgoing_uri)
        self.wait_status(dst, "completed")
        self.summary(info)
        return self.verdict(src, dst)

    def run_cpr(self):
        """cpr-transfer: the new process waits on the cpr socket (no monitor
        yet, so it is started on a thread), gets the memfds, then the device
        state after migrate-incoming."""
        src = self.start_vm("src", [])
        src.wait_serial(b"B", timeout=120)
        print(f"old tern: {self.opts.ram} guest on memfd RAM under {self.accel_in_use(src)}")
        cpr_sock = os.path.join(self.workdir, "cpr.sock")
        main_sock = os.path.join(self.workdir, "main.sock")
        box = {}

        def start_new():
            try:
                box["vm"] = self.start_vm("dst", [
                    "-incoming", "defer", "-incoming",
                    f"cpr,addr.transport=socket,addr.type=unix,addr.path={cpr_sock}"])
            except Exception as e:      # reported below
                box["err"] = e

        thread = threading.Thread(target=start_new)
        thread.start()
        while not os.path.exists(cpr_sock) and thread.is_alive():
            time.sleep(0.01)
        main = {"transport": "socket", "type": "unix", "path": main_sock}
        src.qmp.command("migrate-set-capabilities",
                        capabilities=[{"capability": "events", "state": True}])
        src.qmp.command("migrate-set-parameters", mode="cpr-transfer")
        print("new tern started; migrate with a cpr channel: the memfds go by SCM_RIGHTS")
        src.qmp.command("migrate", channels=[
            {"channel-type": "main", "addr": main},
            {"channel-type": "cpr", "addr": {"transport": "socket", "type": "unix",
                                             "path": cpr_sock}}])
        thread.join()
        if "err" in box:
            raise box["err"]
        dst = box["vm"]
        dst.qmp.command("migrate-incoming", channels=[{"channel-type": "main", "addr": main}])
        info = self.wait_status(src, "completed")
        self.wait_status(dst, "completed")
        stop = src.qmp.wait_event("STOP")
        resume = dst.qmp.wait_event("RESUME")
        pause = (ternvm.event_time(resume) - ternvm.event_time(stop)) * 1000
        self.summary(info)
        print(f"    {'guest pause':<12} {pause:.1f} ms (STOP on the old tern to RESUME "
              f"on the new one)")
        return self.verdict(src, dst, cpr_pages=info["ram"].get("normal", 0))

    def pictures_dir(self):
        """Where --display keeps its screendumps (the run's files go away)."""
        path = os.path.join(self.opts.build, "demo-display")
        os.makedirs(path, exist_ok=True)
        return path

    def accel_in_use(self, vm):
        try:
            kvm = vm.qmp.command("query-kvm")
            return "kvm" if kvm.get("enabled") else "interp"
        except ternvm.QMPError:
            return "interp"

    def migrate_and_watch(self, src, uri):
        print(f"migrating to {uri}")
        src.qmp.command("migrate", uri=uri)
        while True:
            info = src.qmp.command("query-migrate")
            self.draw_progress(info)
            if info.get("status") == "pre-switchover":
                self.src_dump = display_demo.dump(src, self.pictures_dir(), "src")
                src.qmp.command("migrate-continue", state="pre-switchover")
            if info.get("status") in ("completed", "failed", "cancelled"):
                print()
                if info["status"] != "completed":
                    raise RuntimeError(f"migration {info['status']}: {info.get('error-desc', '')}")
                return info
            time.sleep(0.05)

    def draw_progress(self, info):
        ram = info.get("ram", {})
        total = ram.get("total", 0)
        remaining = ram.get("remaining", total)
        if info.get("status") == "completed":
            done = 1.0
        else:
            done = max(0.0, 1 - remaining / total) if total else 0.0
        width = 30
        bar = "#" * int(done * width) + "-" * (width - int(done * width))
        line = (f"\r[{bar}] {done * 100:5.1f}%  {info.get('status', '?'):<10} "
                f"sent {human_bytes(ram.get('transferred', 0)):>10}  "
                f"left {human_bytes(remaining):>10}  "
                f"{ram.get('mbps', 0):8.1f} Mbit/s  "
                f"dirty {ram.get('dirty-pages-rate', 0):>8} pages/s  "
                f"pass {ram.get('dirty-sync-count', 0)}")
        sys.stdout.write(line)
        sys.stdout.flush()

    def wait_status(self, vm, status, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = vm.qmp.command("query-migrate")
            if info.get("status") == status:
                return info
            if info.get("status") == "failed":
                raise RuntimeError(f"{vm.name}: migration failed: {info.get('error-desc')}")
            time.sleep(0.05)
        raise TimeoutError(f"{vm.name}: migration never reached {status}")

    def summary(self, info):
        ram = info["ram"]
        rows = [
            ("total time", f"{info.get('total-time', 0)} ms"),
            ("downtime", f"{info.get('downtime', 0)} ms (limit {self.opts.downtime_limit} ms)"),
            ("setup time", f"{info.get('setup-time', 0)} ms"),
            ("throughput", f"{ram.get('mbps', 0):.1f} Mbit/s"),
            ("transferred", human_bytes(ram.get("transferred", 0))),
            ("pages sent", f"{ram.get('normal', 0)} ({human_bytes(ram.get('normal-bytes', 0))})"),
            ("zero pages", f"{ram.get('duplicate', 0)}"),
            ("passes", f"{ram.get('dirty-sync-count', 0)}"),
        ]
        print("\n  migration summary")
        for k, v in rows:
            print(f"    {k:<12} {v}")

    def verdict(self, src, dst, cpr_pages=None):
        checks = []
        status = src.qmp.command("query-status")["status"]
        checks.append(("source is in postmigrate", status == "postmigrate", status))
        if cpr_pages is not None:
            checks.append(("no page of RAM was copied", cpr_pages == 0,
                           f"{cpr_pages} pages sent"))
        if self.opts.display:
            checks += display_demo.checks(self.src_dump, dst, self.pictures_dir())
            return self.report(checks)

        b_before = dst.serial().count(b"B")
        try:
            dst.wait_serial(b"B", b_before + 1, timeout=30)
            running = True
        except TimeoutError:
            running = False
        checks.append(("guest runs on the destination (serial 'B's continue)", running,
                       f"{b_before} -> {dst.serial().count(b'B')} 'B's"))
        restarted = b"A" in dst.serial()
        checks.append(("guest continued, not restarted (CPU state arrived: no new 'A')",
                       not restarted, "'A' seen" if restarted else "no 'A'"))

        dst.qmp.command("stop")
        first = self.first_bytes(dst)
        problem = ternvm.check_guest_pattern(first)
        checks.append(("guest memory arrived intact (a-b pattern holds)", problem is None,
                       problem or f"{len(first)} pages checked"))
        dst.qmp.command("cont")
        return self.report(checks)

    def report(self, checks):
        print("\n  verdict")
        for what, ok, detail in checks:
            print(f"    [{'ok' if ok else 'FAIL'}] {what} ({detail})")
        ok = all(c[1] for c in checks)
        moved = "was taken over in place" if self.opts.cpr else "moved live"
        print(f"\nPASS: the guest {moved} and kept running." if ok else "\nFAIL")
        return ok

    def first_bytes(self, vm):
        """The first byte of every page the guest dirties, read through qtest."""
        out = bytearray()
        for addr in range(MiB, self.dirty_end, 4096 * 256):
            chunk = vm.qtest.cmd(f"b64read 0x{addr:x} 0x{4096 * 256:x}")
            data = base64.b64decode(chunk)
            out += data[::4096]
        return bytes(out[: (self.dirty_end - MiB) // 4096])

    def cleanup(self, keep):
        for vm in self.vms:
            vm.kill()
        if not keep:
            shutil.rmtree(self.workdir, ignore_errors=True)


def main():
    opts = options()
    demo = Demo(opts)
    ok = False
    try:
        ok = demo.run()
    except Exception as e:  # every failure ends in one line naming it
        print(f"\nFAIL: {e}")
        for vm in demo.vms:
            err = vm.stderr().strip()
            if err:
                print(f"  {vm.name} stderr: {err[-500:]}")
    finally:
        demo.cleanup(keep=not ok)
        if not ok:
            print(f"  (logs kept in {demo.workdir})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
