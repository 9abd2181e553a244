"""Shared benchmark harness: interleaved rounds, medians, ratios, the machine, and the report file.

Every benchmark measures ours (A) against a bare baseline (B) in the same run, rounds interleaved
(A B A B ...), at least 5 rounds, and reports medians. Each benchmark owns one section of
docs/benchmarks.md, between `<!-- bench:ID -->` and `<!-- /bench:ID -->`, and records its goal rows in
`instance/bench/ID.json`, from which `python -m bench` writes the summary table.
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "instance" / "bench"
MIN_ROUNDS = 5


@dataclass(frozen=True)
class Goal:
    """One row of the summary: a measured ratio (or absolute figure) against its goal."""

    bench: str
    measure: str
    value: float
    goal: str
    met: bool
    absolute: str


def interleave(runs: dict[str, Callable[[], float]], rounds: int = MIN_ROUNDS) -> dict[str, list[float]]:
    """Run each callable once per round, in the given order (A B A B ...); one value per round each."""
    if rounds < MIN_ROUNDS:
        raise ValueError(f"at least {MIN_ROUNDS} rounds, not {rounds}")
    values: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            values[name].append(run())
    return values


def median(values: Sequence[float]) -> float:
    """The median of a round's values."""
    return float(statistics.median(values))


def ratios(ours: Sequence[float], base: Sequence[float]) -> list[float]:
    """Per-round ratios ours / base (pair by pair: each pair ran back to back)."""
    return [a / b if b else float("inf") for a, b in zip(ours, base, strict=True)]


def fmt(values: Sequence[float], digits: int = 2) -> str:
    """Comma-joined values for the 'all rounds' column."""
    return ", ".join(f"{v:.{digits}f}" for v in values)


def machine() -> str:
    """CPU model, core count, OS, Python, and the load average when the run started."""
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                    if line.startswith("model name")), cpu)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(meminfo.read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    return (f"{cpu}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}; load average {load} at the start")


def write_section(bench_id: str, markdown: str, goals: Sequence[Goal] = ()) -> None:
    """Replace (or append) this benchmark's section of docs/benchmarks.md and record its goal rows."""
    begin, end = f"<!-- bench:{bench_id} -->", f"<!-- /bench:{bench_id} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    REPORT.write_text(text, encoding="utf-8")
    if goals:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{bench_id}.json").write_text(json.dumps([asdict(g) for g in goals], indent=1))


def read_goals() -> list[Goal]:
    """Every goal row recorded by the benchmarks run so far, in file-name order."""
    rows: list[Goal] = []
    for path in sorted(RESULTS.glob("*.json")):
        rows += [Goal(**row) for row in json.loads(path.read_text())]
    return rows
