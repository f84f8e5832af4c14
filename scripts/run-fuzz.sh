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
mkdir -p "$build/fuzz-corpus/stream" "$build/fuzz-artifacts"
cp -n "$build"/tests/fuzz/stream-*.bin "$build/fuzz-corpus/stream/"
# The committed seed corpora, one directory per target (tests/fuzz/corpus/NAME).
for dir in "$src"/tests/fuzz/corpus/*/; do
  name=$(basename "$dir")
  mkdir -p "$build/fuzz-corpus/$name"
  cp -n "$dir"* "$build/fuzz-corpus/$name/"
done

run() {
  local target=$1; shift
  echo "== $target: ${seconds}s"
  "$build/tests/fuzz/$target" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$target-" "$@"
}
run fuzz-stream -dict="$src/tests/fuzz/stream.dict" -max_len=1048576 -rss_limit_mb=4096 \
  "$build/fuzz-corpus/stream"
run fuzz-qmp "$build/fuzz-corpus/qmp"
run fuzz-xbzrle -max_len=8192 "$build/fuzz-corpus/xbzrle"
run fuzz-multifd -max_len=65536 "$build/fuzz-corpus/multifd"
run fuzz-return-path -max_len=4096 "$build/fuzz-corpus/return-path"
run fuzz-devstate -max_len=4096 "$build/fuzz-corpus/devstate"
run fuzz-hmp -max_len=512 "$build/fuzz-corpus/hmp"
run fuzz-mapped-ram -max_len=32768 "$build/fuzz-corpus/mapped-ram"
run fuzz-cpu -max_len=4096 "$build/fuzz-corpus/cpu"
run fuzz-qtest -max_len=4096 "$build/fuzz-corpus/qtest"
run fuzz-postcopy -dict="$src/tests/fuzz/stream.dict" -max_len=65536 "$build/fuzz-corpus/postcopy"
run fuzz-compress -max_len=65536 "$build/fuzz-corpus/compress"
