#!/usr/bin/env python3
"""Entry point meson runs: see scripts/qapi/main.py for the options."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scripts.qapi.main import main  # noqa: E402

sys.exit(main())
