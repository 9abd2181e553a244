"""Rate-limit counters in process memory, through the `limits` library's documented custom-storage interface.

limits' own MemoryStorage expires counters from a timer thread that it starts again on nearly every hit
once hits are more than 10 ms apart, and each start waits for the new thread to be scheduled (0.3 to 1.5 ms
per POST measured here). This storage keeps the same counts without any thread: a key is trimmed when it
is used, and a write drops the keys nobody used since they expired at most once every SWEEP seconds.
It serves the three strategies (moving window, fixed window, sliding window counter), all under one lock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from math import floor

from limits.storage import MovingWindowSupport, SlidingWindowCounterSupport, Storage

SWEEP = 60.0  # seconds between sweeps of expired keys


class ProcessMemoryStorage(Storage, MovingWindowSupport, SlidingWindowCounterSupport):
    """Counters with their expiry (fixed and sliding windows) and entry times (moving window), expired lazily."""

    STORAGE_SCHEME = None  # registered under no scheme: open311.georeport.ratelimits builds it for memory://

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.counters: dict[str, tuple[int, float]] = {}  # key -> (count, when it expires)
        self.windows: dict[str, tuple[int, deque[float]]] = {}  # key -> (window length, entry times, oldest first)
        self.next_sweep = time.time() + SWEEP

    @property
    def base_exceptions(self) -> type[Exception]:
        """What a failure of this storage would raise (none is expected)."""
        return ValueError

    def _now(self) -> float:
        """The time; first, at most every SWEEP seconds, drop every expired key (the caller holds the lock)."""
        now = time.time()
        if now >= self.next_sweep:
            self.next_sweep = now + SWEEP
            self.counters = {key: value for key, value in self.counters.items() if value[1] > now}
            self.windows = {key: (length, times) for key, (length, times) in self.windows.items()
                            if times and times[-1] > now - length}
        return now

    def _counter(self, key: str, now: float) -> tuple[int, float]:
        """A counter and when it expires: (0, now) when it has none or it expired."""
        count, expires = self.counters.get(key, (0, now))
        return (count, expires) if expires > now else (0, now)

    def _add(self, key: str, expiry: float, amount: int, now: float) -> int:
        """Add to a counter, starting its expiry when it starts from zero; the new count."""
        count, expires = self._counter(key, now)
        self.counters[key] = (count + amount, expires if count else now + expiry)
        return count + amount

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add to a fixed-window counter; the new count."""
        with self.lock:
            return self._add(key, expiry, amount, self._now())

    def get(self, key: str) -> int:
        """A fixed-window counter's count (0 once expired)."""
        with self.lock:
            return self._counter(key, time.time())[0]

    def get_expiry(self, key: str) -> float:
        """When a fixed-window counter expires (now when it has none)."""
        with self.lock:
            return self._counter(key, time.time())[1]

    def check(self) -> bool:
        """Process memory always answers."""
        return True

    def reset(self) -> int | None:
        """Forget every count; how many keys there were."""
        with self.lock:
            found = len(self.counters) + len(self.windows)
            self.counters, self.windows = {}, {}
            return found

    def clear(self, key: str) -> None:
        """Forget one key's count."""
        with self.lock:
            self.counters.pop(key, None)
            self.windows.pop(key, None)

    def _entries(self, key: str, expiry: int, now: float) -> deque[float]:
        """A moving window's entry times still inside it, oldest first (the caller holds the lock)."""
        times = self.windows.setdefault(key, (expiry, deque()))[1]
        while times and times[0] < now - expiry:  # an entry exactly `expiry` old still counts, as in limits
            times.popleft()
        return times

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Take `amount` entries in a moving window if they fit within `limit`."""
        with self.lock:
            now = self._now()
            times = self._entries(key, expiry, now)
            if len(times) + amount > limit:
                return False
            times.extend([now] * amount)
            return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(time of the oldest entry in the window, entries in it); (now, 0) when empty."""
        with self.lock:
            now = time.time()
            times = self._entries(key, expiry, now) if key in self.windows else deque()
            edge = 0  # limits leaves out here an entry exactly `expiry` old
            while edge < len(times) and times[edge] <= now - expiry:
                edge += 1
            return (times[edge], len(times) - edge) if edge < len(times) else (now, 0)

    def _sliding(self, key: str, expiry: int, now: float) -> tuple[int, float, int, float, str]:
        """The previous and current windows' counts and time left, and the current window's key."""
        previous, current = f"{key}/{int((now - expiry) / expiry)}", f"{key}/{int(now / expiry)}"
        previous_count, current_count = self._counter(previous, now)[0], self._counter(current, now)[0]
        previous_ttl = (1 - (((now - expiry) / expiry) % 1)) * expiry if previous_count else 0.0
        current_ttl = (1 - ((now / expiry) % 1)) * expiry + expiry
        return previous_count, previous_ttl, current_count, current_ttl, current

    def acquire_sliding_window_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Count `amount` in the current window if the weighted count of both windows stays within `limit`."""
        with self.lock:
            now = self._now()
            previous_count, previous_ttl, current_count, _, current = self._sliding(key, expiry, now)
            if floor(previous_count * previous_ttl / expiry + current_count) + amount > limit:
                return False
            self._add(current, 2 * expiry, amount, now)
            return True

    def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        """(previous count, its time left, current count, its time left)."""
        with self.lock:
            return self._sliding(key, expiry, time.time())[:4]

    def clear_sliding_window(self, key: str, expiry: int) -> None:
        """Forget both windows of a sliding-window counter."""
        now = time.time()
        for window in (int((now - expiry) / expiry), int(now / expiry)):
            self.clear(f"{key}/{window}")
