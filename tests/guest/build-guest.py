#!/usr/bin/env python3
"""Assemble one guest program (GNU as, 32-bit) into a flat binary or a
512-byte boot sector: as --32, ld -m elf_i386 at the load address, objcopy
-O binary.  Run by meson; see tests/guest/meson.build."""
import argparse
import os
import subprocess
import sys
import tempfile

LOAD_ADDR = {"flat": 0x10000, "bootsect": 0x7C00}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--as", dest="as_", default="as")
    ap.add_argument("--ld", default="ld")
    ap.add_argument("--objcopy", default="objcopy")
    ap.add_argument("--variant", choices=LOAD_ADDR, required=True)
    ap.add_argument("source")
    ap.add_argument("output")
    args = ap.parse_args()

    incdir = os.path.dirname(os.path.abspath(args.source))
    with tempfile.TemporaryDirectory() as tmp:
        obj = os.path.join(tmp, "guest.o")
        elf = os.path.join(tmp, "guest.elf")
        asm = [args.as_, "--32", "-I", incdir, "-o", obj, args.source]
        if args.variant == "bootsect":
            asm[1:1] = ["--defsym", "BOOTSECT=1"]
        subprocess.run(asm, check=True)
        subprocess.run([args.ld, "-m", "elf_i386", "-Ttext=0x%x" % LOAD_ADDR[args.variant],
                        "-e", "_start", "-o", elf, obj], check=True)
        subprocess.run([args.objcopy, "-O", "binary", "-j", ".text", elf, args.output],
                       check=True)
    size = os.path.getsize(args.output)
    if args.variant == "bootsect" and size != 512:
        sys.exit("%s: boot sector is %d bytes, not 512" % (args.output, size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
