"""B8: `open311 export` at 1M requests: peak memory stays bounded whatever the row count, against a naive export.

A (ours): a fresh Python process runs open311.feeds.snapshots.export (the feed's own query, 90-day windows,
1,000-row pages by cursor, written to Parquet, CSV and GeoJSON 5,000 rows at a time) over a SQLite database
seeded with B6's requests (two years, 81 services; bench.b6_scale.seed_sqlite), once at 100k and once at 1M rows.
B (naive reference): a fresh process that reads every request row into memory (SQLAlchemy, all columns of
the feed's query), builds one pyarrow Table and writes the same three files from it, at 1M rows.

Measured: peak RSS (VmHWM from /proc/self/status) and wall time of each process; rows per second.
Goals: ours at 1M ÷ ours at 100k <= 1.5 (bounded: memory does not grow with the rows); ours at 1M <= 0.5 of
naive's peak. Rounds alternate ours(100k) ours(1M) naive(1M); medians of 5.

Run: `python -m bench.b8_export [--rounds 5] [--rows 1000000]` (a few minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import Goal, fmt, interleave, machine, median, write_section

ROOT = Path(__file__).resolve().parent.parent
SMALL = 100_000

OURS = r"""
import json, sys, time
from datetime import UTC, datetime
from pathlib import Path
from open311.config.jurisdictions import load_config
from open311.feeds.snapshots import export
from open311.storage.db import make_engine, make_session_factory

def peak():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024

url, out = sys.argv[1], Path(sys.argv[2])
jurisdiction = load_config("jurisdictions.yaml").jurisdictions["lacounty.gov"]
engine = make_engine(url)
started = time.monotonic()
report = export(make_session_factory(engine), jurisdiction, out, datetime(2026, 11, 1, 18, 0, tzinfo=UTC),
                license_url="https://creativecommons.org/publicdomain/zero/1.0/", force=True)
print(json.dumps({"seconds": time.monotonic() - started, "rows": report.rows, "peak_mb": peak()}))
"""

NAIVE = r"""
import csv, json, sys, time
from pathlib import Path
import pyarrow as pa, pyarrow.parquet as pq
from sqlalchemy import select
from open311.feeds.request_statements import FEED_COLUMNS
from open311.storage.db import make_engine

def peak():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024

url, out = sys.argv[1], Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
engine = make_engine(url)
started = time.monotonic()
with engine.connect() as connection:   # everything at once: the straightforward way
    rows = [dict(r._mapping) for r in connection.execute(select(*FEED_COLUMNS))]
for row in rows:
    row["attributes"] = json.dumps(row["attributes"]) if row["attributes"] else None
    row["routing"] = json.dumps(row["routing"]) if row["routing"] else None
table = pa.Table.from_pylist(rows)
pq.write_table(table, out / "all.parquet", compression="zstd")
with (out / "all.csv").open("w", newline="") as f:
    w = csv.writer(f, quoting=csv.QUOTE_ALL)
    w.writerow(rows[0].keys())
    w.writerows([[("" if v is None else str(v)) for v in r.values()] for r in rows])
features = [{"type": "Feature", "id": str(r["id"]), "geometry": {"type": "Point", "coordinates": [r["long"], r["lat"]]},
             "properties": {k: (str(v) if v is not None else None) for k, v in r.items()}} for r in rows]
(out / "all.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
print(json.dumps({"seconds": time.monotonic() - started, "rows": len(rows), "peak_mb": peak()}))
"""


def seeded(folder: Path, rows: int) -> str:
    """A migrated SQLite database with `rows` of B6's requests; its URL."""
    from bench.b6_scale import code_slots, seed_sqlite
    from open311.config.jurisdictions import load_config
    from open311.storage.db import make_engine
    from open311.storage.schema import upgrade

    url = f"sqlite:///{folder}/b8-{rows}.sqlite3"
    engine = make_engine(url)
    upgrade(engine)
    jurisdiction = load_config(ROOT / "jurisdictions.yaml").jurisdictions["lacounty.gov"]
    seed_sqlite(engine, rows, code_slots(jurisdiction))
    return url


def run(script: str, url: str, out: Path) -> dict[str, float]:
    """One fresh process; its JSON line."""
    done = subprocess.run([sys.executable, "-c", script, url, str(out)], cwd=ROOT, capture_output=True, text=True,
                          check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    found: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    started = time.monotonic()
    host = machine()
    with tempfile.TemporaryDirectory(prefix="b8-") as tmp:
        folder = Path(tmp)
        print(f"seeding {SMALL:,} and {args.rows:,} requests ...", file=sys.stderr, flush=True)
        small, large = seeded(folder, SMALL), seeded(folder, args.rows)
        samples: dict[str, list[dict[str, float]]] = {"ours_small": [], "ours_large": [], "naive_large": []}

        def measure(name: str, script: str, url: str) -> float:
            found = run(script, url, folder / name)
            samples[name].append(found)
            print(f"{name}: {found}", file=sys.stderr, flush=True)
            return found["peak_mb"]

        peaks = interleave({"ours_small": lambda: measure("ours_small", OURS, small),
                            "ours_large": lambda: measure("ours_large", OURS, large),
                            "naive_large": lambda: measure("naive_large", NAIVE, large)}, args.rounds)
    elapsed = time.monotonic() - started
    growth = [b / a for a, b in zip(peaks["ours_small"], peaks["ours_large"], strict=True)]
    versus = [a / b for a, b in zip(peaks["ours_large"], peaks["naive_large"], strict=True)]
    seconds = {k: median([s["seconds"] for s in v]) for k, v in samples.items()}
    rows = {k: samples[k][0]["rows"] for k in samples}
    goals = [
        Goal("B8", f"export peak RSS, {args.rows:,} ÷ {SMALL:,} rows (bounded)", median(growth), "<= 1.5",
             median(growth) <= 1.5, f"{median(peaks['ours_large']):.0f} MB at {args.rows:,}, "
             f"{median(peaks['ours_small']):.0f} MB at {SMALL:,}"),
        Goal("B8", f"export peak RSS at {args.rows:,} rows, ours ÷ naive", median(versus), "<= 0.5",
             median(versus) <= 0.5, f"ours {median(peaks['ours_large']):.0f} MB, naive "
             f"{median(peaks['naive_large']):.0f} MB"),
    ]
    lines = [
        "## B8 export (bench/b8_export.py)", "", f"Machine: {host}.", "",
        f"SQLite, B6's seeded requests; {args.rounds} rounds interleaved ours({SMALL:,}) ours({args.rows:,}) "
        f"naive({args.rows:,}), each a fresh process; whole run {elapsed:.0f} s.", "",
        "| run | rows written | peak RSS MB (median) | all rounds | seconds (median) | rows/s |",
        "|---|---|---|---|---|---|",
    ]
    for name, label in (("ours_small", f"ours, {SMALL:,} requests"), ("ours_large", f"ours, {args.rows:,} requests"),
                        ("naive_large", f"naive, {args.rows:,} requests")):
        lines.append(f"| {label} | {int(rows[name]):,} | {median(peaks[name]):.0f} | {fmt(peaks[name], 0)} | "
                     f"{seconds[name]:.1f} | {rows[name] / seconds[name]:,.0f} |")
    lines += ["", "| measure | value | all rounds | goal | met |", "|---|---|---|---|---|"]
    for goal, values in zip(goals, (growth, versus), strict=True):
        lines.append(f"| {goal.measure} | {goal.value:.2f} | {fmt(values)} | {goal.goal} | "
                     f"{'yes' if goal.met else '**no**'} |")
    lines += ["", "Ours writes the three formats of every file (each year and the last 90 days, so the recent rows "
              "twice) and reads through the feed's query; the naive process writes each row once, in one file per "
              "format, with every column of the query. Rows/s compares them only roughly for that reason; the "
              "memory is the point: ours stays flat as the table grows, the naive one holds every row."]
    markdown = "\n".join(lines)
    write_section("B8", markdown, goals)
    print(markdown)


if __name__ == "__main__":
    main()
