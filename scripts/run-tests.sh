#!/usr/bin/env bash
# Runs every test through meson, prints per-suite results, what was skipped
# and why (whole tests meson shows as SKIP, and skipped cases of tests that
# passed, from their TAP "# SKIP reason" lines), and ends with a line of its
# own: "N passed, N failed" (counted from meson's test log; a skipped test is
# neither).
set -uo pipefail
build=${1:-build}

meson test -C "$build" --print-errorlogs --num-processes 2 "${@:2}"
status=$?

meson introspect "$build" --tests > "$build/meson-logs/tests.json"
python3 - "$build/meson-logs/testlog.json" "$build/meson-logs/tests.json" <<'PY'
import collections, json, re, sys
suite_of = {t["name"]: t["suite"][0].split(":")[-1] for t in json.load(open(sys.argv[2]))}
per_suite = collections.defaultdict(lambda: [0, 0, 0])
passed = failed = skipped = 0
skips = collections.defaultdict(list)     # reason -> ["test (N cases)", ...]
with open(sys.argv[1]) as f:
    for line in f:
        t = json.loads(line)
        name = t["name"].split(" / ")[-1]
        suite = suite_of.get(name, "?")
        if t["result"] in ("OK", "EXPECTEDFAIL"):
            passed += 1
            per_suite[suite][0] += 1
        elif t["result"] == "SKIP":
            skipped += 1
            per_suite[suite][2] += 1
        else:
            failed += 1
            per_suite[suite][1] += 1
        reasons = collections.Counter(
            m.group(1).strip() for m in
            re.finditer(r"^ok \d+ .*?# SKIP ?(.*)$", t.get("stdout") or "", re.M | re.I))
        if t["result"] == "SKIP" and not reasons:
            reasons["no reason given"] = 1
        for reason, n in reasons.items():
            whole = " (whole test)" if t["result"] == "SKIP" else ""
            skips[reason].append(f"{name}: {n} case{'s' if n > 1 else ''}{whole}")
for suite, (p, fl, sk) in sorted(per_suite.items()):
    print(f"suite {suite}: {p} passed, {fl} failed, {sk} skipped")
cases = sum(int(w.split(": ")[1].split()[0]) for ws in skips.values() for w in ws)
print(f"skipped: {skipped} tests, {cases} cases" + (":" if skips else ""))
for reason, where in sorted(skips.items()):
    print(f"  {reason}: {', '.join(where)}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
summary=$?
[ $status -eq 0 ] && [ $summary -eq 0 ]
