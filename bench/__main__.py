"""Run every benchmark and join their sections into bench/RESULTS.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.common import RESULTS

BENCHMARKS = ("bench.udfs", "bench.report", "bench.stream", "bench.models")

HEADER = """# Benchmarks

Figures are ratios measured in one run (ours against a baseline on the same data),
since these shared 2-core machines are noisy. Regenerate with `make bench`.
"""


def main(names: list[str]) -> None:
    for name in names or BENCHMARKS:
        # Each in a process of its own: a child's peak memory (ru_maxrss) counts its
        # parent's at fork time, so a big benchmark would inflate the next one's figure.
        subprocess.run([sys.executable, "-m", name], check=True)
    sections = sorted(RESULTS.glob("*.md"))
    text = HEADER + "".join("\n" + p.read_text() for p in sections)
    Path(__file__).with_name("RESULTS.md").write_text(text)
    print(f"wrote {Path(__file__).with_name('RESULTS.md')}")


if __name__ == "__main__":
    main(sys.argv[1:])
