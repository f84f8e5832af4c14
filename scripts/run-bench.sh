#!/usr/bin/env bash
# Runs the benchmarks in bench/ and prints their figures (never pass/fail).
set -euo pipefail
build=${1:-build}
for b in "$build"/bench/bench-*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b"
done
