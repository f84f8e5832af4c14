"""The display half of `make demo DEMO_ARGS=--display` (scripts/demo.py).

The draw guest (tests/guest/draw.S) paints colour bands over its top 160
lines once and then, forever, a frame counter as a Gray code in the bottom
32 lines.  These helpers dump a VM's screen (PPM to read, PNG to look at),
decode the counter and compare two dumps: the bands must be byte-identical
and the destination's counter later than the source's.
"""

import os
import time

COUNTER_ADDR = 0x600
WIDTH, HEIGHT, BAND_ROWS = 256, 192, 160


class Picture:
    def __init__(self, ppm_path, png_path):
        self.ppm, self.png = ppm_path, png_path
        with open(ppm_path, "rb") as f:
            data = f.read()
        magic, size, maxval, self.rgb = data.split(b"\n", 3)
        w, h = map(int, size.split())
        if magic != b"P6" or maxval != b"255" or (w, h) != (WIDTH, HEIGHT):
            raise RuntimeError(f"{ppm_path}: not a {WIDTH}x{HEIGHT} draw picture")

    def pixel(self, x, y):
        i = (y * WIDTH + x) * 3
        return self.rgb[i:i + 3]

    def bands(self):
        return self.rgb[:WIDTH * BAND_ROWS * 3]

    def counter(self):
        """The frame number the counter strip shows (Gray code, bit 31 left)."""
        gray = 0
        for cell in range(32):
            gray = gray << 1 | (self.pixel(cell * 8 + 4, BAND_ROWS + 16) != b"\0\0\0")
        n = gray
        shift = 1
        while shift < 32:
            n ^= n >> shift
            shift <<= 1
        return n


def counter(vm):
    return int(vm.qtest.cmd(f"readl 0x{COUNTER_ADDR:x}"), 16)


def wait_frames(vm, frames, timeout=60):
    """Wait until the guest's counter reaches @frames; return it."""
    deadline = time.monotonic() + timeout
    while (n := counter(vm)) < frames:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{vm.name}: the draw guest is stuck at frame {n}")
        time.sleep(0.01)
    return n


def dump(vm, outdir, name):
    """screendump @vm as OUTDIR/NAME.ppm and .png."""
    ppm = os.path.join(outdir, f"{name}.ppm")
    png = os.path.join(outdir, f"{name}.png")
    vm.qmp.command("screendump", filename=ppm)
    vm.qmp.command("screendump", filename=png, format="png")
    return Picture(ppm, png)


def checks(src_pic, dst, outdir):
    """Dump the destination once it drew two frames past the source's last
    (stopped for the dump, so the strip is whole) and compare."""
    if src_pic is None:
        return [("source screen dumped at the switchover", False, "never paused there")]
    wait_frames(dst, src_pic.counter() + 2, timeout=30)
    dst.qmp.command("stop")
    dst_pic = dump(dst, outdir, "dst")
    dst.qmp.command("cont")
    print(f"\n  screens\n    source      {src_pic.png}  (frame {src_pic.counter()})"
          f"\n    destination {dst_pic.png}  (frame {dst_pic.counter()})")
    return [
        ("static part of the picture identical (colour bands, byte for byte)",
         src_pic.bands() == dst_pic.bands(), f"{len(src_pic.bands())} bytes compared"),
        ("counter moved on after the switchover", dst_pic.counter() > src_pic.counter(),
         f"frame {src_pic.counter()} -> {dst_pic.counter()}"),
    ]
