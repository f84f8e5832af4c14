#!/usr/bin/env bash
# Runs the test suite N times under load to find tests that fail by chance:
# more meson test processes than cores, and a CPU hog on every core beside
# them.  At the end, the failures grouped by test, subtest and message, and
# "N runs, M failed runs"; exits 1 if any run failed.
#
#   scripts/stress-tests.sh [-C BUILDDIR] N [MESON-TEST-ARGS...]
#
# e.g. scripts/stress-tests.sh 20, or scripts/stress-tests.sh 100 --suite qtest.
# Each run's meson log stays in BUILDDIR/meson-logs/stress/run-I.{json,txt}.
set -uo pipefail
cd "$(dirname "$0")/.."

build=build
if [ "${1:-}" = "-C" ]; then
  build=$2
  shift 2
fi
runs=${1:?usage: $0 [-C BUILDDIR] N [MESON-TEST-ARGS...]}
shift
cores=$(nproc)
procs=$((cores * 2))

# Build once: the runs below must all test the same binaries.
[ -f "$build/build.ninja" ] || ./configure --builddir="$build" || exit 1
ninja -C "$build" || exit 1

# meson runs in the background so that a signal interrupts the wait at once
# (a background job ignores SIGINT, so the trap stops it with SIGTERM, which
# meson answers by stopping its tests).
hogs=()
meson_pid=
stop_all() {
  if [ -n "$meson_pid" ]; then
    kill -TERM "$meson_pid" 2>/dev/null
    wait "$meson_pid" 2>/dev/null
    meson_pid=
  fi
  for pid in "${hogs[@]}"; do
    kill "$pid" 2>/dev/null
  done
  wait "${hogs[@]}" 2>/dev/null
  hogs=()
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
for _ in $(seq "$cores"); do
  sh -c 'while :; do :; done' &
  hogs+=($!)
done

logs=$build/meson-logs/stress
rm -rf "$logs"
mkdir -p "$logs"
echo "stress: $runs runs, $procs test processes on $cores cores, $cores CPU hogs"
for i in $(seq "$runs"); do
  start=$SECONDS
  meson test -C "$build" --no-rebuild --num-processes "$procs" -q \
    --logbase "stress/run-$i" "$@" >"$logs/run-$i.out" 2>&1 &
  meson_pid=$!
  wait "$meson_pid"
  rc=$?
  meson_pid=
  echo "stress: run $i of $runs: exit $rc, $((SECONDS - start)) s"
done
stop_all

python3 - "$logs" "$runs" <<'PY'
import collections, glob, json, os, re, sys

logs, runs = sys.argv[1], int(sys.argv[2])
GOOD = ("OK", "SKIP", "EXPECTEDFAIL")


def failed_subtest(out):
    """The TAP subtest that failed: a 'not ok' line, else the one after the
    last finished subtest (the program died inside it)."""
    m = re.search(r"^not ok \d+ (\S+)", out, re.M)
    if m:
        return m.group(1)
    done = re.findall(r"^ok \d+ (\S+)", out, re.M)
    return f"after {done[-1]}" if done else "before the first subtest"


def message(t):
    """The first line that says why: GLib's ERROR / Bail out, a Python
    traceback's last line or FAIL header, else meson's verdict (tern's own
    stderr lines are not used: the tests provoke many on purpose)."""
    text = (t.get("stdout") or "") + "\n" + (t.get("stderr") or "")
    for pat in (r"^\*?\*?\s*(?:ERROR|CRITICAL):(.*)$", r"^Bail out! (.*)$",
                r"^(\w+Error: .*)$", r"^(FAIL: .*)$"):
        m = re.search(pat, text, re.M)
        if m:
            return m.group(1).strip()
    rc = t.get("returncode")
    if isinstance(rc, int) and rc < 0:
        return f"{t['result']}: killed by signal {-rc}, no message"
    return f"{t['result']} (exit {rc}), no message"


groups = collections.defaultdict(list)
failed_runs = 0
for i in range(1, runs + 1):
    path = os.path.join(logs, f"run-{i}.json")
    if not os.path.exists(path):
        failed_runs += 1
        groups[("(meson)", "", "no test log: see " + path[:-5] + ".out")].append(i)
        continue
    bad = False
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            if t["result"] in GOOD:
                continue
            bad = True
            out = t.get("stdout") or ""
            sub = failed_subtest(out) if "ok " in out else ""
            if t["result"] == "TIMEOUT":
                sub = sub + " (timeout)"
            groups[(t["name"], sub, message(t))].append(i)
    failed_runs += bad

if groups:
    print("failures by test, subtest and message (runs):")
for (name, sub, msg), where in sorted(groups.items(), key=lambda g: -len(g[1])):
    print(f"  {len(where)}x {name} {sub}\n      {msg}\n      runs {where}")
print(f"{runs} runs, {failed_runs} failed runs")
sys.exit(1 if failed_runs else 0)
PY
