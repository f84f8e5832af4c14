#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzzing build (docs/devel/fuzzing.md)
# for SECONDS each, from the seed corpora, with the stream dictionary.
#
#   scripts/run-fuzz.sh BUILD-DIR [SECONDS]      (default 60)
#
# Corpora grow in BUILD-DIR/fuzz-corpus/TARGET; crashes are written to
# BUILD-DIR/fuzz-artifacts/.  Exits non-zero when a target found a crash.
set -euo pipefail
build=$1
seconds=${2:-60}
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$build/fuzz-corpus/stream" "$build/fuzz-corpus/qmp" "$build/fuzz-artifacts"
cp -n "$build"/tests/fuzz/stream-*.bin "$build/fuzz-corpus/stream/"
cp -n "$src"/tests/fuzz/corpus/qmp/* "$build/fuzz-corpus/qmp/"

run() {
  local target=$1; shift
  echo "== $target: ${seconds}s"
  "$build/tests/fuzz/$target" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$target-" "$@"
}
run fuzz-stream -dict="$src/tests/fuzz/stream.dict" -max_len=1048576 -rss_limit_mb=4096 \
  "$build/fuzz-corpus/stream"
run fuzz-qmp "$build/fuzz-corpus/qmp"
