"""The adapter port's loader, the backoff formula, Retry-After parsing and untrusted-text cleaning."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from open311.adapter import load_adapter_class
from open311.core.text import clean_text, clean_token
from open311.delivery.outbox import backoff_delay
from open311.settings import DeliverySettings, apply_settings
from open311_adapters.transport import retry_after


class BrokenEntryPoint:
    def load(self) -> object:
        raise ImportError("No module named 'vendor_sdk'")


def test_loader_reports_missing_broken_and_wrong_adapters() -> None:
    with pytest.raises(LookupError, match=r"adapter 'x' is not installed \(installed: broken, wrong\)"):
        load_adapter_class("x", {"broken": BrokenEntryPoint(), "wrong": dict})
    with pytest.raises(LookupError, match="adapter 'broken' cannot be loaded: ImportError: No module named"):
        load_adapter_class("broken", {"broken": BrokenEntryPoint()})
    with pytest.raises(LookupError, match=r"does not implement open311\.adapter\.Adapter"):
        load_adapter_class("wrong", {"wrong": dict})


def test_full_jitter_backoff_stays_under_the_exponential_ceiling_and_the_cap() -> None:
    settings = DeliverySettings(backoff_base=2, backoff_cap=100)
    rng = random.Random(1)
    for attempt in range(1, 40):
        ceiling = min(100, 2 * 2 ** (attempt - 1))
        delays = [backoff_delay(attempt, settings, rng) for _ in range(50)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # jitter spreads over the whole range
    assert backoff_delay(1, settings, rng, retry_after=30) >= 30
    assert backoff_delay(1, settings, rng, retry_after=10**9) == 100


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after({"Retry-After": "120"}) == 120
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    assert 80 <= (retry_after({"Retry-After": soon}) or 0) <= 90
    assert retry_after({"Retry-After": "tomorrow-ish"}) is None and retry_after({}) is None


def test_untrusted_text_is_cleaned_and_bounded() -> None:
    assert clean_text("Done\x00\x1b[31m\r\n\n\n\nbye\u200b\ufffe ", 100) == "Done[31m\n\nbye\u200b"
    assert clean_text("x" * 50, 10) == "x" * 9 + "…"
    assert clean_text(" \x07 ", 10) is None
    assert clean_token("IN\tPROGRESS\n", 20) == "IN PROGRESS" and clean_token("x" * 21, 20) is None


def test_tuning_from_the_environment() -> None:
    config: dict[str, object] = {}
    environ = {"OPEN311_DELIVERY_BATCH": "3", "OPEN311_SYNC_OVERLAP": "0.5", "OPEN311_DELIVERY_LEASE": "9"}
    apply_settings(config, environ, overrides={"OPEN311_DELIVERY_LEASE": 300.0})  # a test config wins
    assert (config["OPEN311_DELIVERY_BATCH"], config["OPEN311_SYNC_OVERLAP"], config["OPEN311_DELIVERY_LEASE"]) == (
        3, 0.5, 300.0)
    with pytest.raises(ValueError, match=r"OPEN311_DELIVERY_LEASE must be at least 0\.1 \(.*\), got .0."):
        apply_settings({}, {"OPEN311_DELIVERY_LEASE": "0"})
