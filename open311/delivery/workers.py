"""Relay and sync (with the SLA watcher) as background threads (the embedded `open311 serve`), stop-on-signal."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from open311.delivery.relay import Relay
from open311.delivery.sync import run_sync
from open311.services import Services
from open311.settings import DeliverySettings, SyncSettings

log = logging.getLogger(__name__)


class BackgroundWorkers:
    """One relay thread and one sync thread (each round: the pull, then the SLA watcher) sharing a stop event."""

    def __init__(self, gateway: Services, delivery: DeliverySettings, sync: SyncSettings) -> None:
        self.stop_event = threading.Event()
        self.relay = Relay(gateway, delivery, stop=self.stop_event)
        self.threads = [
            threading.Thread(target=self._guard(self.relay.run), name="open311-relay", daemon=True),
            threading.Thread(target=self._guard(lambda: run_sync(gateway, sync, self.stop_event)),
                             name="open311-sync", daemon=True),
        ]

    def _guard(self, target: Callable[[], object]) -> Callable[[], None]:
        """Run a loop, logging (not losing silently) a crash; the outbox keeps the work for a restart."""
        def run() -> None:
            try:
                target()
            except Exception:
                log.exception("background %s stopped by an unexpected error", threading.current_thread().name)
        return run

    def start(self) -> None:
        """Start both threads."""
        for thread in self.threads:
            thread.start()
        log.info("relay and sync running in-process")

    def stop(self, timeout: float = 30.0) -> None:
        """Ask both loops to stop (the delivery in hand finishes) and wait for them."""
        self.stop_event.set()
        for thread in self.threads:
            if thread.is_alive():
                thread.join(timeout)


def stop_on_signals(stop: threading.Event) -> None:
    """Make SIGTERM and SIGINT set `stop` instead of killing the process mid-delivery."""
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: finishing the work in hand", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
