#!/usr/bin/env python3
"""cpr-transfer against a normal migration: the guest's pause and the total time.

The a-b guest (KVM if usable) runs on memory-backend-memfd RAM.  For each size
and run, a new tern takes the guest over from the old one:

- cpr-transfer: the new process starts with a cpr channel and `-incoming
  defer`; the old one migrates with both channels; the new one gets
  `migrate-incoming` on the main channel once its monitor is up.
- normal: the new process listens on a unix socket and the old one migrates
  live (max-bandwidth 0), copying the RAM.

pause = the new process's RESUME event minus the old one's STOP event (host
wall clock, both on this host); downtime = the old process's query-migrate
figure; total = from `migrate` to RESUME (cpr-transfer: includes the wait for
the new process's monitor).  A tern guest addresses at most 4 GiB, and
backends it does not map are not migrated, so sizes above 4 GiB are not run.

    bench/cpr-bench.py --sizes 1G,4G --runs 5
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
import ternvm  # noqa: E402

GUEST_MAX = 4 << 30


def parse_size(text):
    units = {"M": 20, "G": 30}
    return int(text[:-1]) << units[text[-1].upper()]


def memory_args(size):
    return ["-object", f"memory-backend-memfd,id=mem0,size={size}",
            "-machine", "memory-backend=mem0"]


def guest_args(o, size):
    return (["-accel", o.accel, "-kernel", o.guest, "-append", "start=1M,end=64M"]
            + memory_args(size))


def workdir(work, name):
    path = os.path.join(work, name)
    os.makedirs(path, exist_ok=True)
    return path


def start_source(o, size, work):
    src = ternvm.VM(o.tern, guest_args(o, size), "src", workdir(work, "src"), qtest=False)
    src.wait_serial(b"A")       # running (its 'B's come slowly on a loaded host)
    src.qmp.command("migrate-set-capabilities",
                    capabilities=[{"capability": "events", "state": True}])
    return src


def wait_completed(vm):
    ev = vm.qmp.wait_event("MIGRATION", timeout=600,
                           match=lambda d: d["status"] in ("completed", "failed", "cancelled"))
    if ev["data"]["status"] != "completed":
        raise RuntimeError(f"{vm.name}: {vm.qmp.command('query-migrate')}")


def run_cpr(o, size, work):
    src = start_source(o, size, work)
    cpr_sock = os.path.join(work, "cpr.sock")
    main_sock = os.path.join(work, "main.sock")
    dst_box = {}

    def spawn_destination():
        args = guest_args(o, size) + [
            "-incoming", "defer",
            "-incoming", f"cpr,addr.transport=socket,addr.type=unix,addr.path={cpr_sock}"]
        try:
            dst_box["vm"] = ternvm.VM(o.tern, args, "dst", workdir(work, "dst"), qtest=False)
        except Exception as e:      # reported by the main thread
            dst_box["err"] = e

    t = threading.Thread(target=spawn_destination)
    t.start()
    try:
        while not os.path.exists(cpr_sock):
            if "err" in dst_box:
                raise dst_box["err"]
            time.sleep(0.005)
        src.qmp.command("migrate-set-parameters", mode="cpr-transfer")
        start = time.time()
        src.qmp.command("migrate", channels=[
            {"channel-type": "main",
             "addr": {"transport": "socket", "type": "unix", "path": main_sock}},
            {"channel-type": "cpr",
             "addr": {"transport": "socket", "type": "unix", "path": cpr_sock}}])
        t.join()
        if "err" in dst_box:
            raise dst_box["err"]
        dst = dst_box["vm"]
        try:
            dst.qmp.command("migrate-incoming", channels=[
                {"channel-type": "main",
                 "addr": {"transport": "socket", "type": "unix", "path": main_sock}}])
            return measure(src, dst, start)
        finally:
            dst.kill()
    finally:
        t.join()
        src.kill()


def run_normal(o, size, work):
    src = start_source(o, size, work)
    main_sock = os.path.join(work, "main.sock")
    dst = ternvm.VM(o.tern, guest_args(o, size) + ["-incoming", f"unix:{main_sock}"],
                    "dst", workdir(work, "dst"), qtest=False)
    try:
        src.qmp.command("migrate-set-parameters", max_bandwidth=0)
        start = time.time()
        src.qmp.command("migrate", uri=f"unix:{main_sock}")
        return measure(src, dst, start)
    finally:
        dst.kill()
        src.kill()


def measure(src, dst, start):
    wait_completed(src)
    stop = src.qmp.wait_event("STOP", timeout=600)
    resume = dst.qmp.wait_event("RESUME", timeout=600)
    info = src.qmp.command("query-migrate")
    return {
        "pause": (ternvm.event_time(resume) - ternvm.event_time(stop)) * 1000,
        "downtime": info.get("downtime", 0),
        "total": (ternvm.event_time(resume) - start) * 1000,
        "sent": info["ram"]["transferred"],
    }


def summary(values):
    return f"{statistics.median(values):8.1f} [{min(values):.1f}-{max(values):.1f}]"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default=os.environ.get("TERN_BUILD", "build"))
    p.add_argument("--sizes", default="1G,4G")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--accel", default="kvm" if os.access("/dev/kvm", os.R_OK | os.W_OK)
                   else "interp")
    o = p.parse_args()
    o.tern = os.path.join(o.build, "system", "tern")
    o.guest = os.path.join(o.build, "tests", "guest", "a-b.bin")
    print(f"accel {o.accel}, a-b over 1M..64M, {o.runs} runs; ms as median [min-max]")
    print(f"{'size':>5} {'mode':>12} {'pause':>22} {'downtime':>22} {'total':>22} {'sent':>12}")
    for text in o.sizes.split(","):
        size = parse_size(text)
        if size > GUEST_MAX:
            print(f"{text:>5}   not run: a tern guest addresses at most 4 GiB")
            continue
        for mode, fn in (("cpr-transfer", run_cpr), ("normal", run_normal)):
            rows = []
            for _ in range(o.runs):
                work = tempfile.mkdtemp(prefix="tern-cpr-bench-")
                try:
                    rows.append(fn(o, size, work))
                finally:
                    shutil.rmtree(work, ignore_errors=True)
            print(f"{text:>5} {mode:>12} {summary([r['pause'] for r in rows])} "
                  f"{summary([r['downtime'] for r in rows])} "
                  f"{summary([r['total'] for r in rows])} "
                  f"{int(statistics.median([r['sent'] for r in rows])):>12}", flush=True)


if __name__ == "__main__":
    main()
