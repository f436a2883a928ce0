"""Figure 12 of the benchmark alone (bench/obs_overhead.py): ``python scripts/obs_overhead.py [--smoke]``."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["--only", "12", *sys.argv[1:]]))
