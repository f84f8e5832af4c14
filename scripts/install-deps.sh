#!/usr/bin/env bash
# Installs, from Debian's archive, whatever tern needs that is missing.
# The one list of build and test dependencies lives here.
#
#   scripts/install-deps.sh [--build-only]
#
# --build-only skips the test-only packages.
set -euo pipefail

# Build: what configuring and compiling tern needs.
build_packages=(
  gcc binutils make meson ninja-build pkg-config python3
  libglib2.0-dev libjson-glib-dev libpixman-1-dev libpng-dev zlib1g-dev libzstd-dev libgnutls28-dev libgcrypt20-dev
  libxxhash-dev
)

# Test only, never a build dependency (meson does not look for them): QEMU
# writes the stream the analyser is checked against (analyze-stream-qemu)
# and the screendump tern's is compared with (display-qemu); both SKIP
# without it.  Installed without recommends: a disk boot needs only
# what the package depends on.
test_packages=(qemu-system-x86)

missing() {
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      echo "$p"
    fi
  done
}

if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo -n); fi
export DEBIAN_FRONTEND=noninteractive

# install WHAT APT-OPTIONS... -- PACKAGES...: apt-get install, updating the
# package lists once if the first attempt fails.
install() {
  local what=$1 opts=() pkgs=()
  shift
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done
  shift
  pkgs=("$@")
  [ ${#pkgs[@]} -eq 0 ] && return 0
  echo "deps: installing $what: ${pkgs[*]}"
  if ! { "${sudo[@]}" apt-get install -y -q "${opts[@]}" "${pkgs[@]}" ||
         { "${sudo[@]}" apt-get update -q &&
           "${sudo[@]}" apt-get install -y -q "${opts[@]}" "${pkgs[@]}"; }; }; then
    echo "deps: could not install: ${pkgs[*]}" >&2
    echo "deps: run: sudo apt-get install ${opts[*]} ${pkgs[*]}" >&2
    exit 1
  fi
}

mapfile -t need < <(missing "${build_packages[@]}")
install "build dependencies" -- "${need[@]}"
if [ "${1:-}" != "--build-only" ]; then
  mapfile -t need < <(missing "${test_packages[@]}")
  install "test-only dependencies" --no-install-recommends -- "${need[@]}"
fi
