#!/usr/bin/env python3
"""Save and restore time of a stopped, random-filled guest through file:.

For each side (tern, QEMU) and format (plain stream; mapped-ram alone, with
2 multifd threads, with those and direct-io, and restored by mapping the
file with x-mapped-ram-restore) it boots the
'filled' guest of migration-bench.py (a memory-backend-file over random
bytes, prealloc=on), stops it, saves it with `migrate file:` and times the
command until the MIGRATION event says completed; then a fresh process loads
the file with `migrate-incoming` and is timed the same way.  Runs alternate
sides; the table shows median [min-max] seconds, the file's size and the disk
space it takes, and for x-mapped-ram-restore when the restored guest stopped
depending on the file (restore + the page copy that follows it).  QEMU older than 8.2 saves the plain stream through
`exec:cat` (it has no file:).  A format a binary lacks (QEMU before 9.0 has no
mapped-ram) is reported as skipped.

    bench/save-restore-bench.py --sizes 1G --runs 5
    bench/save-restore-bench.py --no-qemu --runs 3 --formats plain,mapped-ram+map
"""
import argparse
import importlib.util
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("migration_bench",
                                               os.path.join(HERE, "migration-bench.py"))
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)

# Format name -> (capabilities on both sides, on the destination only, parameters).
FORMATS = {
    "plain": ((), (), {}),
    "mapped-ram": (("mapped-ram",), (), {}),
    "mapped-ram+multifd": (("mapped-ram", "multifd"), (), {"multifd-channels": 2}),
    "mapped-ram+dio": (("mapped-ram", "multifd"), (), {"multifd-channels": 2, "direct-io": True}),
    "mapped-ram+map": (("mapped-ram",), ("x-mapped-ram-restore",), {}),
}


def options(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default=os.environ.get("TERN_BUILD", "build"))
    p.add_argument("--sizes", default="1G", help="comma-separated RAM sizes (default 1G)")
    p.add_argument("--workload", choices=["filled", "idle"], default="filled",
                   help="filled: RAM of random bytes; idle: a guest that touched almost "
                        "none of its RAM (default filled)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--no-qemu", action="store_true")
    p.add_argument("--dir", help="where the saved files go (default a temporary directory)")
    p.add_argument("--formats", default=",".join(FORMATS),
                   help="comma-separated, of: " + ", ".join(FORMATS))
    o = p.parse_args(argv)
    base = ["--build", o.build, "--workloads", o.workload, "--sizes", o.sizes]
    if o.no_qemu:
        base.append("--no-qemu")
    return o, mb.options(base)


def wait_completed(vm, what, timeout):
    ev = vm.qmp.wait_event("MIGRATION", timeout=timeout,
                           match=lambda d: d["status"] in ("completed", "failed", "cancelled"))
    if ev["data"]["status"] != "completed":
        info = vm.qmp.command("query-migrate")
        raise RuntimeError(f"{what}: {info.get('status')}: {info.get('error-desc', '')}")


def set_caps(vm, fmt, role):
    both, dst_only, params = FORMATS[fmt]
    names = ("events",) + both + (dst_only if role == "dst" else ())
    vm.qmp.command("migrate-set-capabilities",
                   capabilities=[{"capability": n, "state": True} for n in names])
    if params:
        vm.qmp.command("migrate-set-parameters", **params)


def qemu_version(vmm):
    return tuple(int(x) for x in vmm.version.split(".")[:2] if x.isdigit())


def uris(vmm, fmt, path):
    """file: both ways; QEMU before 8.2 has no file: and saves the plain
    stream through `exec:cat` instead."""
    if vmm.kind == "qemu" and fmt == "plain" and qemu_version(vmm) < (8, 2):
        return f"exec:cat > {path}", f"exec:cat {path}"
    return f"file:{path}", f"file:{path}"


def detach_done(vm, timeout=300):
    """Seconds from now until tern's mig/detach threads (x-mapped-ram-restore's
    copy of every page out of the file) are gone."""
    t0 = time.monotonic()
    task = f"/proc/{vm.proc.pid}/task"
    while time.monotonic() - t0 < timeout:
        names = []
        for tid in os.listdir(task):
            try:
                with open(f"{task}/{tid}/comm") as f:
                    names.append(f.read().strip())
            except OSError:
                pass
        if "mig/detach" not in names:
            return time.monotonic() - t0
        time.sleep(0.005)
    raise RuntimeError("mig/detach still running")


def one_run(bench, vmm, workload, size, fmt, filedir):
    """(save s, restore s, file bytes, allocated bytes, save CPU s, restore CPU s,
    detach s); the CPU times are the VM process's own (QEMU's exec:cat is not
    counted); detach is how much later the restored guest no longer depends on
    the file (x-mapped-ram-restore only, else 0)."""
    cfg = (workload, size, "file")
    rundir = tempfile.mkdtemp(prefix=f"{vmm.key}-{fmt}-", dir=bench.workdir)
    path = os.path.join(filedir, f"{vmm.key}-{fmt}.bin")
    vms = []
    try:
        src = bench.start_vm(vmm, cfg, "src", rundir, vms)
        bench.wait_ready(src, workload)
        src.qmp.command("stop")
        set_caps(src, fmt, "src")
        src.qmp.command("migrate-set-parameters", **{"max-bandwidth": 0})
        out_uri, in_uri = uris(vmm, fmt, path)
        t0, c0 = time.monotonic(), mb.cpu_ms(src)
        src.qmp.command("migrate", uri=out_uri)
        wait_completed(src, "save", 300)
        save = time.monotonic() - t0
        save_cpu = (mb.cpu_ms(src) - c0) / 1000
        src.kill()
        st = os.stat(path)

        dst = bench.start_vm(vmm, cfg, "dst", rundir, vms)
        set_caps(dst, fmt, "dst")
        t0, c0 = time.monotonic(), mb.cpu_ms(dst)
        dst.qmp.command("migrate-incoming", uri=in_uri)
        wait_completed(dst, "restore", 300)
        restore = time.monotonic() - t0
        restore_cpu = (mb.cpu_ms(dst) - c0) / 1000
        detach = restore + detach_done(dst) if fmt == "mapped-ram+map" else 0.0
        return save, restore, st.st_size, st.st_blocks * 512, save_cpu, restore_cpu, detach
    finally:
        for vm in vms:
            vm.kill()
        shutil.rmtree(rundir, ignore_errors=True)
        if os.path.exists(path):
            os.unlink(path)


def spread(values):
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def main(argv=None):
    o, mopts = options(sys.argv[1:] if argv is None else argv)
    bench = mb.Bench(mopts)
    bench.setup_vmms()
    filedir = o.dir or bench.workdir
    results = {}
    for size in mopts.sizes:
        for run in range(o.runs):
            for vmm in bench.vmms:
                for fmt in o.formats.split(","):
                    key = (vmm.label, size, fmt)
                    if vmm.skip_reason or results.get(key) == "skipped":
                        continue
                    if vmm.kind == "qemu" and fmt != "plain" and qemu_version(vmm) < (9, 0):
                        results[key] = "skipped"        # no mapped-ram before QEMU 9.0
                        continue
                    try:
                        r = one_run(bench, vmm, o.workload, size, fmt, filedir)
                    except Exception as e:  # noqa: BLE001: one failure is a table cell
                        msg = str(e).split("\n")[0][:160]
                        print(f"  {vmm.label} {fmt} run {run}: {msg}", flush=True)
                        if ("mapped-ram" in msg or "Invalid parameter" in msg or
                                "multifd" in msg or "direct-io" in msg):
                            results[key] = "skipped"
                        continue
                    print(f"  {vmm.label} {mb.size_name(size)} {fmt} run {run}: save {r[0]:.3f} s,"
                          f" restore {r[1]:.3f} s, file {r[2] / 2**20:.1f} MiB,"
                          f" on disk {r[3] / 2**20:.1f} MiB, CPU save {r[4]:.2f} s restore {r[5]:.2f} s"
                          f", detached {r[6]:.3f} s", flush=True)
                    results.setdefault(key, []).append(r)
    print(f"\n{o.workload} guest, median [min-max] of {o.runs}")
    print(f"{'side':6} {'RAM':8} {'format':19} {'save s':24} {'restore s':24} "
          f"{'file MiB':>9} {'disk MiB':>9}  {'save CPU s':24} {'restore CPU s':24} "
          f"{'detached s':24}")
    for (label, size, fmt), rs in results.items():
        if rs == "skipped":
            print(f"{label:6} {mb.size_name(size):8} {fmt:19} skipped (not supported)")
            continue
        print(f"{label:6} {mb.size_name(size):8} {fmt:19} {spread([r[0] for r in rs]):24} "
              f"{spread([r[1] for r in rs]):24} {rs[0][2] / 2**20:9.1f} {rs[0][3] / 2**20:9.1f}  "
              f"{spread([r[4] for r in rs]):24} {spread([r[5] for r in rs]):24} "
              f"{spread([r[6] for r in rs]):24}")
    for note in bench.notes:
        print(note)
    shutil.rmtree(bench.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
