#!/usr/bin/env python3
"""tern's screendump against QEMU's, on the same guest.

The draw guest's boot sector (tests/guest/draw.S) runs on qemu-system-x86_64
with `-device VGA` and the flat binary on tern with `-device VGA`; both paint
the same colour bands with the same VBE mode.  The two PPM screendumps must
have the same header and byte-identical bands: the same file format, the same
mode, the same pixels.  (The counter strips show different frames.)  PNG
output must be readable as the same picture where Python can decode it.

Environment: TERN_BINARY, TERN_GUEST_DIR, TERN_SOURCE_ROOT (set by meson);
TERN_QEMU_BINARY (default: qemu-system-x86_64 on PATH; empty: skip).
Prints TAP.
"""

import os
import shutil
import sys
import tempfile
import time

ROOT = os.environ.get("TERN_SOURCE_ROOT",
                      os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TERN = os.environ.get("TERN_BINARY", os.path.join(ROOT, "build", "system", "tern"))
GUESTS = os.environ.get("TERN_GUEST_DIR", os.path.join(ROOT, "build", "tests", "guest"))
QEMU = os.environ.get("TERN_QEMU_BINARY", shutil.which("qemu-system-x86_64")) or None

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import display_demo  # noqa: E402
import ternvm  # noqa: E402

COLOURS = [0xff0000, 0x00ff00, 0x0000ff, 0xffff00, 0xff00ff, 0x00ffff, 0x808080, 0xff8000]


def bands_drawn(pic):
    """Every band has its colour (the guest got past its first loop)."""
    return all(pic.pixel(x, y) == COLOURS[x // 32].to_bytes(3, "big")
               for y in (0, 80, 159) for x in range(0, 256, 16))


def qemu_picture(workdir, deadline):
    disk = os.path.join(workdir, "draw.img")
    shutil.copy(os.path.join(GUESTS, "draw.img"), disk)
    vm = ternvm.VM(QEMU, ["-nodefaults", "-machine", "pc", "-accel", "tcg", "-m", "32",
                          "-device", "VGA", "-drive", f"file={disk},format=raw"],
                   "qemu", os.path.join(workdir, "qemu"), qtest=False)
    try:
        while True:
            try:
                pic = display_demo.dump(vm, workdir, "qemu")
                if bands_drawn(pic):
                    return pic
            except (RuntimeError, ValueError):
                pass                # BIOS text mode, or the mode not set yet
            if time.monotonic() > deadline:
                raise TimeoutError("QEMU never showed the draw guest's bands")
            time.sleep(0.2)
    finally:
        vm.kill()


def tern_picture(workdir, deadline):
    vm = ternvm.VM(TERN, ["-m", "16", "-accel", "interp", "-device", "VGA",
                          "-kernel", os.path.join(GUESTS, "draw.bin")],
                   "tern", os.path.join(workdir, "tern"))
    try:
        display_demo.wait_frames(vm, 3, timeout=max(1, deadline - time.monotonic()))
        vm.qmp.command("stop")
        return display_demo.dump(vm, workdir, "tern")
    finally:
        vm.kill()


def main():
    print("1..1")
    name = "qemu-screendump-matches"
    if not QEMU:
        print(f"ok 1 {name} # SKIP qemu-system-x86_64 is not installed")
        return 0
    for f in ("draw.img", "draw.bin"):
        if not os.path.exists(os.path.join(GUESTS, f)):
            print(f"ok 1 {name} # SKIP {f} is not built")
            return 0
    workdir = tempfile.mkdtemp(prefix="tern-display-qemu-")
    try:
        for sub in ("qemu", "tern"):
            os.mkdir(os.path.join(workdir, sub))
        deadline = time.monotonic() + 120          # a liveness bound
        qemu = qemu_picture(workdir, deadline)
        tern = tern_picture(workdir, deadline)
        with open(qemu.ppm, "rb") as f:
            qemu_head = f.read(15)
        with open(tern.ppm, "rb") as f:
            tern_head = f.read(15)
        problems = []
        if qemu_head != tern_head:
            problems.append(f"PPM headers differ: {qemu_head!r} vs {tern_head!r}")
        if qemu.bands() != tern.bands():
            diff = next(i for i, (a, b) in enumerate(zip(qemu.bands(), tern.bands())) if a != b)
            problems.append(f"bands differ from byte {diff}")
        if problems:
            print(f"not ok 1 {name}")
            for p in problems:
                print(f"# {p}")
            return 1
        print(f"ok 1 {name}")
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
