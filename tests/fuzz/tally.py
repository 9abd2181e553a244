"""Fuzz settings and the tally of cases and server errors that the session reports."""

from __future__ import annotations

import os
from collections import Counter

from hypothesis import HealthCheck, settings

# CI: a bounded, reproducible run (the same cases every time). `make fuzz` sets FUZZ_EXAMPLES and
# FUZZ_RANDOM=1 for a longer campaign that explores new cases on each run.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
RANDOM = os.environ.get("FUZZ_RANDOM") == "1"
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=None,
                suppress_health_check=list(HealthCheck), print_blob=True)

CASES: Counter[str] = Counter()
STATUSES: dict[str, Counter[int]] = {}
SERVER_ERRORS: list[str] = []
