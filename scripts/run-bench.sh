#!/usr/bin/env bash
# Runs the benchmarks in bench/ and prints their figures (never pass/fail):
# the C micro-benches (BUILD/bench/bench-*), then the live-migration matrix,
# tern against QEMU (bench/migration-bench.py; arguments after the build
# directory go to it, e.g. scripts/run-bench.sh build --quick).
# QEMU and matplotlib are benchmark-only: installed here from Debian's archive
# when missing, never by the build.
set -euo pipefail
build=${1:-build}
shift || true

install_missing() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
  echo "bench: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y -q "${missing[@]}" ||
    { "${sudo[@]}" apt-get update -q && "${sudo[@]}" apt-get install -y -q "${missing[@]}"; } ||
    echo "bench: could not install ${missing[*]}; going on without" >&2
}

has_matplotlib() { "$1" -c 'import matplotlib' 2>/dev/null; }

# Debian's python3-matplotlib serves /usr/bin/python3, which need not be the
# python3 on PATH (pyenv, a venv): run the driver with one that has it.
py=python3
if ! has_matplotlib "$py" && [ -x /usr/bin/python3 ]; then
  py=/usr/bin/python3
fi
if command -v dpkg-query >/dev/null && command -v apt-get >/dev/null; then
  command -v qemu-system-x86_64 >/dev/null || install_missing qemu-system-x86
  has_matplotlib "$py" || install_missing python3-matplotlib
fi

for b in "$build"/bench/bench-*; do
  [ -f "$b" ] && [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b"
done

echo "== migration-bench"
exec "$py" "$(dirname "$0")/../bench/migration-bench.py" --build "$build" "$@"
