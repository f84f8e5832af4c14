#!/usr/bin/env bash
# Runs every test through meson, prints per-suite results and ends with a
# line of its own: "N passed, N failed" (counted from meson's test log).
set -uo pipefail
build=${1:-build}

meson test -C "$build" --print-errorlogs --num-processes 2 "${@:2}"
status=$?

meson introspect "$build" --tests > "$build/meson-logs/tests.json"
python3 - "$build/meson-logs/testlog.json" "$build/meson-logs/tests.json" <<'PY'
import json, sys, collections
suite_of = {t["name"]: t["suite"][0].split(":")[-1] for t in json.load(open(sys.argv[2]))}
per_suite = collections.defaultdict(lambda: [0, 0])
passed = failed = 0
with open(sys.argv[1]) as f:
    for line in f:
        t = json.loads(line)
        ok = t["result"] in ("OK", "EXPECTEDFAIL", "SKIP")
        name = t["name"].split(" / ")[-1]
        suite = suite_of.get(name, "?")
        per_suite[suite][0 if ok else 1] += 1
        if ok:
            passed += 1
        else:
            failed += 1
for suite, (p, fl) in sorted(per_suite.items()):
    print(f"suite {suite}: {p} passed, {fl} failed")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
summary=$?
[ $status -eq 0 ] && [ $summary -eq 0 ]
