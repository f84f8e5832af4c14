#!/usr/bin/env python3
"""Convergence benchmark: how good x-prediction is, and auto-converge against QEMU.

Two parts, both on the a-b guest (it increments one byte in every page of
its range, over and over), migrating over a unix socket:

predict   tern only.  Migrations that converge at a bandwidth limit, the
          guest held to a known dirty rate by set-vcpu-dirty-limit (MB/s)
          before migrate.  query-migrate is read every --sample-ms on the
          source; every x-prediction it carries (completion-time, downtime,
          confidence) is compared with what happened: the time left until
          the MIGRATION event said completed, and the downtime query-migrate
          reports.  Printed: the median absolute % error of completion-time
          by how far into the migration the prediction was made (quarters
          of the total time, and "first pass": the first sample after the
          first dirty sync of the live phase), the downtime's median
          absolute error in ms, and the completion error by confidence band
          (what confidence means in practice).

converge  tern beside QEMU (tcg; kvm when tern runs on kvm), A B A B: the
          a-b guest dirtying --converge-ranges at QEMU's defaults
          (max-bandwidth 128 MiB/s, downtime-limit 300 ms), capability
          auto-converge on both sides.  Printed per side: converged runs,
          total time, downtime, the last throttle seen, dirty syncs (median
          [min-max] over the converged runs; a run that does not complete
          within --timeout s is cancelled and counted, with the throttle it
          reached), and on tern's side when its dirty-page budget
          (x-auto-converge-dirty-budget, the default 50 %) came and the
          MB/s it held the vCPU to.  Then the same with capability dirty-limit instead,
          where a side supports it: tern on the interpreter does; QEMU needs
          KVM's dirty ring (and QEMU >= 8.1), so its column says why it is
          skipped.

Writes bench/results/converge-STAMP.csv (every sample and every run) and
.txt (the tables).  Never pass/fail.
"""

import argparse
import csv
import datetime
import importlib.util
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import ternvm  # noqa: E402

_spec = importlib.util.spec_from_file_location("migration_bench",
                                               os.path.join(HERE, "migration-bench.py"))
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)

MiB = mb.MiB
# QEMU 7.2's and tern's defaults, set explicitly on both sides.
QEMU_MAX_BANDWIDTH = 128 * MiB
# Completion-error buckets: the share of the total time already gone.
PHASES = [("0-25 %", 0.0, 0.25), ("25-50 %", 0.25, 0.5), ("50-75 %", 0.5, 0.75),
          ("75-100 %", 0.75, 1.01)]
CONFIDENCE = [("0-24", 0, 24), ("25-49", 25, 49), ("50-74", 50, 74), ("75-100", 75, 100)]


def parse_predict_case(text):
    """RANGE@BANDWIDTH/DIRTY: a-b range size, max-bandwidth, vcpu dirty limit MB/s."""
    rng, _, rest = text.partition("@")
    bw, _, dirty = rest.partition("/")
    return (mb.parse_size(rng), mb.parse_size(bw), int(dirty or 0))


def options(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[2:]))
    p.add_argument("--build", default=os.environ.get("TERN_BUILD", "build"))
    p.add_argument("--parts", default="predict,converge",
                   help="comma-separated: predict,converge (default both)")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--ram", type=mb.parse_size, default=640 * MiB,
                   help="guest RAM for every run (default 640M)")
    p.add_argument("--predict-cases", default="128M@32M/8,128M@32M/16,256M@64M/24",
                   help="RANGE@MAX-BANDWIDTH/DIRTY-LIMIT-MB/s, comma-separated")
    p.add_argument("--converge-ranges", default="100M,512M",
                   help="a-b range sizes for the converge part (from 1 MiB)")
    p.add_argument("--converge-modes", default="auto-converge,dirty-limit")
    p.add_argument("--sample-ms", type=int, default=100)
    p.add_argument("--timeout", type=float, default=90.0,
                   help="seconds before a converge run counts as not converging")
    p.add_argument("--no-qemu", action="store_true")
    p.add_argument("--accel", choices=["interp", "kvm"], default="interp",
                   help="tern's accelerator (QEMU: tcg with interp, kvm with kvm); default "
                        "interp: a nested KVM runs a-b at ~1 M instructions/s")
    p.add_argument("--results", default=os.path.join(HERE, "results"))
    o = p.parse_args(argv)
    o.parts = [x for x in o.parts.split(",") if x]
    o.predict_cases = [parse_predict_case(x) for x in o.predict_cases.split(",") if x]
    o.converge_ranges = [mb.parse_size(x) for x in o.converge_ranges.split(",") if x]
    o.converge_modes = [x for x in o.converge_modes.split(",") if x]
    return o


def median_spread(values, fmt="{:.0f}"):
    if not values:
        return "-"
    return (f"{fmt.format(statistics.median(values))} "
            f"[{fmt.format(min(values))}-{fmt.format(max(values))}]")


class Runner:
    """Starts pairs of VMs through migration-bench's Bench (same command lines)."""

    def __init__(self, o):
        self.o = o
        # --first-pass: every page of the range holds data (a-b's first 'B',
        # 64 sweeps) before migrate: a fresh page's first touch is slow, and a
        # range still being zeroed would migrate as zero pages.
        mopts = mb.options(["--build", o.build, "--sizes", str(o.ram), "--workloads", "a-b",
                            "--transports", "unix", "--runs", "1", "--accel", o.accel,
                            "--first-pass"] + (["--no-qemu"] if o.no_qemu else []))
        self.bench = mb.Bench(mopts)
        self.bench.setup_vmms()
        self.vmms = [v for v in self.bench.vmms if not v.skip_reason]
        self.notes = list(self.bench.notes)

    def vmm(self, kind):
        return next((v for v in self.vmms if v.kind == kind), None)

    def start_pair(self, vmm, ab_range, rundir, vms):
        self.bench.opts.ab_start, self.bench.opts.ab_end = MiB, MiB + ab_range
        cfg = ("a-b", self.o.ram, "unix", "off")
        src = self.bench.start_vm(vmm, cfg, "src", rundir, vms)
        self.bench.wait_ready(src, "a-b")
        dst = self.bench.start_vm(vmm, cfg, "dst", rundir, vms)
        uri = f"unix:{os.path.join(rundir, 'mig.sock')}"
        dst.qmp.command("migrate-incoming", uri=uri)
        return src, dst, uri

    def migrate(self, vmm, ab_range, caps, params, before=None, timeout=None):
        """One migration with query-migrate sampled on the source; a dict
        with the samples, the outcome and the final figures."""
        rundir = tempfile.mkdtemp(prefix=f"{vmm.key}-conv-", dir=self.bench.workdir)
        vms = []
        out = dict(status="error", samples=[])
        try:
            src, dst, uri = self.start_pair(vmm, ab_range, rundir, vms)
            for vm in (src, dst):
                vm.qmp.command("migrate-set-capabilities", capabilities=[
                    {"capability": c, "state": True} for c in ["events"] + caps])
            src.qmp.command("migrate-set-parameters", **params)
            if before:
                before(src)
            out["samples"], ev = self.sample(src, uri, timeout or self.o.timeout)
            info = mb.Bench.final_info(src)
            out.update(status=info.get("status"), total_ms=info.get("total-time"),
                       downtime_ms=info.get("downtime"),
                       syncs=info.get("ram", {}).get("dirty-sync-count"),
                       end_wall=ternvm.event_time(ev) if ev else None)
            if out["status"] == "completed":
                dst.qmp.wait_event("MIGRATION", timeout=60,
                                   match=lambda d: d["status"] == "completed")
        except Exception as e:  # a failed run is a row, never the end of the bench
            out["error"] = str(e).replace("\n", " ")[:300]
        finally:
            for vm in vms:
                vm.kill()
        return out

    def sample(self, src, uri, timeout):
        samples = []
        t0 = time.time()
        src.qmp.command("migrate", uri=uri)
        deadline = time.monotonic() + timeout
        while True:
            before = time.time()
            info = src.qmp.command("query-migrate")
            samples.append(dict(wall=(before + time.time()) / 2, t=before - t0, info=info))
            if info.get("status") in ("completed", "failed", "cancelled"):
                break
            if time.monotonic() > deadline:
                src.qmp.command("migrate_cancel")
                break
            time.sleep(self.o.sample_ms / 1000)
        ev = None
        try:
            ev = src.qmp.wait_event("MIGRATION", timeout=30, match=lambda d: d["status"] in (
                "completed", "failed", "cancelled"))
        except TimeoutError:
            pass
        return samples, ev

    def cleanup(self):
        self.bench.cleanup()


# -- predict ----------------------------------------------------------------------

def prediction_points(run):
    """(share of total time gone, completion % error, downtime ms error,
    confidence, first-pass) per sample with a converging prediction."""
    end = run["end_wall"]
    start = run["samples"][0]["wall"] - run["samples"][0]["t"]
    total = end - start
    points, first_pass_seen = [], False
    for s in run["samples"]:
        p = s["info"].get("x-prediction")
        if not p or not p.get("converges") or s["info"].get("status") != "active":
            continue
        actual_ms = (end - s["wall"]) * 1000
        if actual_ms <= 0:
            continue
        first_pass = (not first_pass_seen
                      and s["info"].get("ram", {}).get("dirty-sync-count", 0) >= 2)
        first_pass_seen |= first_pass
        points.append(dict(share=(s["wall"] - start) / total,
                           err_pct=abs(p["completion-time"] - actual_ms) * 100 / actual_ms,
                           signed_pct=(p["completion-time"] - actual_ms) * 100 / actual_ms,
                           dt_err_ms=abs(p["downtime"] - run["downtime_ms"]),
                           confidence=p["confidence"], first_pass=first_pass,
                           predicted_ms=p["completion-time"], actual_ms=round(actual_ms)))
    return points


def run_predict(r, o, rows):
    tern = r.vmm("tern")
    lines = []
    if not tern:
        return ["predict: tern not built"]
    lines.append(f"x-prediction accuracy (tern {tern.version}, {tern.accel}; RAM "
                 f"{mb.size_name(o.ram)}; query-migrate every {o.sample_ms} ms; "
                 f"{o.runs} runs per case; median |error|, signed median in parentheses)")
    header = ["case", "runs", "total ms", "first pass", *[p[0] for p in PHASES],
              "downtime |err| ms", "downtime actual ms"]
    table = [header]
    conf_points = []
    for rng, bw, dirty in o.predict_cases:
        name = f"{mb.size_name(rng)} @ {bw // MiB} MiB/s, dirty {dirty} MB/s"
        points, totals, downtimes = [], [], []
        for i in range(o.runs):
            def limit(src, dirty=dirty):
                if dirty:
                    src.qmp.command("set-vcpu-dirty-limit", dirty_rate=dirty)
            run = r.migrate(tern, rng, [], {"max-bandwidth": bw}, before=limit)
            ok = run["status"] == "completed" and run.get("end_wall")
            pts = prediction_points(run) if ok else []
            print(f"  predict {name} #{i + 1}: {run['status']}"
                  + (f", total {run['total_ms']} ms, downtime {run['downtime_ms']} ms, "
                     f"{len(pts)} predictions" if ok else f" {run.get('error', '')}"),
                  flush=True)
            for pt in pts:
                rows.append(dict(part="predict", case=name, run=i, **pt))
            if ok:
                points += pts
                totals.append(run["total_ms"])
                downtimes.append(run["downtime_ms"])
        conf_points += points

        def cell(sel):
            errs = [p["err_pct"] for p in sel]
            signed = [p["signed_pct"] for p in sel]
            if not errs:
                return "-"
            return f"{statistics.median(errs):.0f} % ({statistics.median(signed):+.0f}), n={len(errs)}"
        row = [name, str(len(totals)), median_spread(totals),
               cell([p for p in points if p["first_pass"]])]
        row += [cell([p for p in points if lo <= p["share"] < hi]) for _, lo, hi in PHASES]
        dts = [p["dt_err_ms"] for p in points]
        row += [f"{statistics.median(dts):.0f}" if dts else "-", median_spread(downtimes)]
        table.append(row)
    lines += format_table(table)
    lines.append("")
    lines.append("completion-time |error| by the confidence it came with (all cases):")
    ctable = [["confidence", "predictions", "median |error|", "90th pct |error|"]]
    for label, lo, hi in CONFIDENCE:
        errs = sorted(p["err_pct"] for p in conf_points if lo <= p["confidence"] <= hi)
        ctable.append([label, str(len(errs)),
                       f"{statistics.median(errs):.0f} %" if errs else "-",
                       f"{errs[int(0.9 * (len(errs) - 1))]:.0f} %" if errs else "-"])
    lines += format_table(ctable)
    return lines


# -- converge ---------------------------------------------------------------------

def converge_support(vmm, mode):
    """None when @vmm can run @mode here, else why not."""
    if mode == "dirty-limit" and vmm.kind == "qemu":
        return ("skipped: QEMU's dirty-limit needs KVM's dirty ring (accel kvm, "
                "dirty-ring-size) and QEMU >= 8.1; here QEMU "
                f"{vmm.version} runs {vmm.accel}")
    if mode == "dirty-limit" and vmm.accel == "kvm":
        return "skipped: tern's dirty limit is the interpreter's (KVM: no dirty ring)"
    return None


def throttle_reached(samples, pct=99):
    """Seconds from migrate until the throttle first read @pct, or None."""
    for s in samples:
        if s["info"].get("cpu-throttle-percentage", 0) >= pct:
            return round(s["t"], 1)
    return None


def last_ram(samples, key):
    """The last figure @key of query-migrate's ram seen while active."""
    for s in reversed(samples):
        if s["info"].get("status") == "active" and key in s["info"].get("ram", {}):
            return s["info"]["ram"][key]
    return None


def budget_seen(samples):
    """(seconds from migrate until x-auto-converge-dirty-limit first showed,
    the last value it showed): tern's dirty-page budget; (None, None) when
    it never held (QEMU has none)."""
    first, last = None, None
    for s in samples:
        mbps = s["info"].get("x-auto-converge-dirty-limit")
        if mbps:
            first = round(s["t"], 1) if first is None else first
            last = mbps
    return first, last


def last_throttle(samples):
    for s in reversed(samples):
        if s["info"].get("status") in ("active", "pre-switchover", "device"):
            return s["info"].get("cpu-throttle-percentage", 0)
    return 0


def run_converge(r, o, rows):
    lines = []
    for mode in o.converge_modes:
        sides = [(v, converge_support(v, mode)) for v in r.vmms]
        lines.append(f"{mode}: a-b at max-bandwidth {QEMU_MAX_BANDWIDTH // MiB} MiB/s, "
                     f"downtime-limit 300 ms, RAM {mb.size_name(o.ram)}, {o.runs} runs per "
                     f"side alternating, timeout {o.timeout:.0f} s; median [min-max] over "
                     f"converged runs")
        for v, why in sides:
            if why:
                lines.append(f"  {v.label} {why}")
        runners = [v for v, why in sides if not why]
        table = [["range", "metric", *[f"{v.label} ({v.accel})" for v in runners]]]
        for rng in o.converge_ranges:
            results = {v.key: [] for v in runners}
            for i in range(o.runs):
                for v in runners:
                    run = r.migrate(v, rng, [mode], {"max-bandwidth": QEMU_MAX_BANDWIDTH,
                                                     "downtime-limit": 300})
                    run["throttle"] = last_throttle(run["samples"])
                    run["at99_s"] = throttle_reached(run["samples"])
                    run["budget_s"], run["budget"] = budget_seen(run["samples"])
                    # Pages per second the guest dirties, as the source saw it last.
                    run["dirty_pps"] = last_ram(run["samples"], "dirty-pages-rate")
                    run["remaining_mib"] = (last_ram(run["samples"], "remaining") or 0) // MiB
                    results[v.key].append(run)
                    rows.append(dict(part=mode, case=mb.size_name(rng), vmm=v.key, run=i,
                                     status=run["status"], total_ms=run.get("total_ms"),
                                     downtime_ms=run.get("downtime_ms"),
                                     throttle=run["throttle"], syncs=run.get("syncs"),
                                     at99_s=run["at99_s"], dirty_pps=run["dirty_pps"],
                                     budget_s=run["budget_s"], budget_mbps=run["budget"],
                                     remaining_mib=run["remaining_mib"],
                                     error=run.get("error", "")))
                    print(f"  {mode} {v.label} {mb.size_name(rng)} #{i + 1}: {run['status']}, "
                          f"total {run.get('total_ms')} ms, downtime {run.get('downtime_ms')} ms,"
                          f" throttle {run['throttle']} % (99 % after {run['at99_s']} s), "
                          f"syncs {run.get('syncs')}, dirty budget {run['budget']} MB/s "
                          f"(after {run['budget_s']} s), last dirty-pages-rate {run['dirty_pps']}, "
                          f"remaining {run['remaining_mib']} MiB"
                          + (f" {run['error']}" if run.get("error") else ""), flush=True)
            first = True
            for label, key in [("converged", None), ("total ms", "total_ms"),
                               ("downtime ms", "downtime_ms"), ("last throttle %", "throttle"),
                               ("dirty syncs", "syncs"),
                               ("throttle % when cancelled", "cancelled"),
                               ("s until throttle 99 %", "at99_s"),
                               ("s until dirty budget", "budget_s"),
                               ("dirty budget MB/s", "budget"),
                               ("dirty pages/s, last seen", "dirty_pps"),
                               ("remaining MiB, last seen", "remaining_mib")]:
                cells = []
                for v in runners:
                    runs = results[v.key]
                    done = [x for x in runs if x["status"] == "completed"]
                    if key is None:
                        cells.append(f"{len(done)} of {len(runs)}")
                    elif key in ("at99_s", "budget_s", "budget", "dirty_pps", "remaining_mib"):
                        cells.append(median_spread([x[key] for x in runs
                                                    if x.get(key) is not None],
                                                   "{:.1f}" if key.endswith("_s") else "{:.0f}"))
                    elif key == "cancelled":
                        cells.append(median_spread([x["throttle"] for x in runs
                                                    if x["status"] != "completed"]))
                    else:
                        cells.append(median_spread([x[key] for x in done
                                                    if x.get(key) is not None]))
                table.append([mb.size_name(rng) if first else "", label, *cells])
                first = False
        lines += format_table(table)
        lines.append("")
    return lines


def format_table(table):
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    out = []
    for i, row in enumerate(table):
        out.append("  " + "  ".join(c.ljust(widths[j]) for j, c in enumerate(row)).rstrip())
        if i == 0:
            out.append("  " + "  ".join("-" * w for w in widths))
    return out


def main(argv=None):
    o = options(sys.argv[1:] if argv is None else argv)
    r = Runner(o)
    if not r.vmm("tern"):
        print("converge-bench: tern cannot run: " + "; ".join(r.notes))
        return 1
    rows, lines = [], list(r.notes)
    try:
        if "predict" in o.parts:
            lines += run_predict(r, o, rows)
            lines.append("")
        if "converge" in o.parts:
            lines += run_converge(r, o, rows)
    except KeyboardInterrupt:
        lines.append("interrupted")
    finally:
        r.cleanup()
    text = "\n".join(lines)
    print()
    print(text)
    os.makedirs(o.results, exist_ok=True)
    base = os.path.join(o.results, "converge-" +
                        datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    with open(base + ".txt", "w") as f:
        f.write(text + "\n")
    keys = sorted({k for row in rows for k in row})
    with open(base + ".csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    print(f"\nwrote {base}.txt, {base}.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
