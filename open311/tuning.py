"""Tuning of the relay and the status sync: defaults, overridable by app config or OPEN311_* variables."""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

# name -> (default, minimum); every value is a number of seconds unless it is a count.
KNOBS: dict[str, tuple[float, float]] = {
    "OPEN311_DELIVERY_MAX_ATTEMPTS": (30, 1),
    "OPEN311_DELIVERY_BACKOFF_BASE": (30.0, 0.0),
    "OPEN311_DELIVERY_BACKOFF_CAP": (6 * 3600.0, 0.0),
    "OPEN311_DELIVERY_LEASE": (300.0, 0.1),
    "OPEN311_DELIVERY_BATCH": (5, 1),
    "OPEN311_DELIVERY_POLL": (2.0, 0.01),
    "OPEN311_SYNC_INTERVAL": (60.0, 0.01),
    "OPEN311_SYNC_OVERLAP": (600.0, 0.0),
    "OPEN311_SYNC_LOOKBACK": (7 * 86400.0, 0.0),
}
COUNTS = ("OPEN311_DELIVERY_MAX_ATTEMPTS", "OPEN311_DELIVERY_BATCH")


def apply_environment(config: MutableMapping[str, Any], environ: Mapping[str, str] | None = None) -> None:
    """Fill missing knobs from the environment or the defaults; raise ValueError naming a bad value."""
    env = os.environ if environ is None else environ
    for name, (default, minimum) in KNOBS.items():
        raw = config.get(name, env.get(name))
        if raw is None or raw == "":
            config[name] = default
            continue
        try:
            value = int(raw) if name in COUNTS else float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a {'whole ' if name in COUNTS else ''}number, got {raw!r}") from None
        if value < minimum:
            raise ValueError(f"{name} must be at least {minimum:g}, got {raw!r}")
        config[name] = value


@dataclass(frozen=True)
class DeliverySettings:
    """How the relay claims, retries and gives up (seconds unless a count)."""

    max_attempts: int = 30
    backoff_base: float = 30.0
    backoff_cap: float = 6 * 3600.0
    lease: float = 300.0
    batch: int = 5
    poll: float = 2.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DeliverySettings:
        """Read the OPEN311_DELIVERY_* knobs of an app config."""
        return cls(max_attempts=int(config["OPEN311_DELIVERY_MAX_ATTEMPTS"]),
                   backoff_base=float(config["OPEN311_DELIVERY_BACKOFF_BASE"]),
                   backoff_cap=float(config["OPEN311_DELIVERY_BACKOFF_CAP"]),
                   lease=float(config["OPEN311_DELIVERY_LEASE"]), batch=int(config["OPEN311_DELIVERY_BATCH"]),
                   poll=float(config["OPEN311_DELIVERY_POLL"]))


@dataclass(frozen=True)
class SyncSettings:
    """How often the sync pulls, how far windows overlap, how far back a first pull reaches."""

    interval: float = 60.0
    overlap: float = 600.0
    lookback: float = 7 * 86400.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SyncSettings:
        """Read the OPEN311_SYNC_* knobs of an app config."""
        return cls(interval=float(config["OPEN311_SYNC_INTERVAL"]), overlap=float(config["OPEN311_SYNC_OVERLAP"]),
                   lookback=float(config["OPEN311_SYNC_LOOKBACK"]))
