"""`python -m bench [NAME ...]`: run the benchmarks, each in a fresh process, then write the summary table.

With no names, runs B1 to B7 and the photo benchmark (what `make bench` does); `bench.sizing` (several
minutes, PostgreSQL and Redis) runs on its own with `python -m bench.sizing`.
"""

from __future__ import annotations

import subprocess
import sys
import time

from bench.harness import machine, read_goals, write_section

DEFAULT = ("b1_feed", "b2_submit", "b3_area", "b4_relay", "b5_xml", "b6_scale", "b7_memory", "photos")


def summary() -> str:
    """The summary table over every goal row recorded so far."""
    lines = ["## Summary", "", f"Machine: {machine()}.", "",
             "| id | measure | ratio / figure | goal | met | absolute figures |", "|---|---|---|---|---|---|"]
    for g in read_goals():
        lines.append(f"| {g.bench} | {g.measure} | {g.value:.2f} | {g.goal} | {'yes' if g.met else '**no**'} "
                     f"| {g.absolute} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Run the named (or default) benchmarks in order; stop at the first that fails."""
    names = argv or list(DEFAULT)
    for name in names:
        start = time.monotonic()
        print(f"== bench.{name}", flush=True)
        code = subprocess.call([sys.executable, "-m", f"bench.{name}"])
        print(f"== bench.{name}: exit {code} after {time.monotonic() - start:.0f} s", flush=True)
        if code:
            return code
    write_section("summary", summary())
    print(summary())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
