"""Tuning of the relay and the status sync, read from the app config (open311/settings.py fills it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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
