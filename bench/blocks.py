"""Every building block of docs/blocks.md against plain PyTorch: time and peak memory.

Runs bench/blocks_a.py (locally connected, tiled, FFT and separable-kernel convolution)
and bench/blocks_b.py (DropConnect, stochastic, fractional, channel, pyramid and RoI
pooling) one after the other; each prints its own table of ratios.

Run: ``.venv/bin/python bench/blocks.py``
"""

from __future__ import annotations

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__":
    status = 0
    for script in ("blocks_a.py", "blocks_b.py"):
        print(f"== {script}", flush=True)
        status |= subprocess.call([sys.executable, os.path.join(HERE, script), *sys.argv[1:]])
    sys.exit(status)
