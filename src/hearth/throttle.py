# SPDX-License-Identifier: GPL-3.0-or-later
"""Slow down repeated authentication failures from one address.

The answer never changes; only its timing does. After ``free`` failures within ``window`` seconds
each further failure waits twice as long as the previous one, up to ``cap`` seconds (setting
``auth_failure_delay_max``; 0 turns the delay off). The wait is an
``asyncio.sleep``: other requests keep being served meanwhile.

With a ``counter`` (the server passes one backed by the database, ``services/failures.py``) the
failures are counted by all server processes together and survive a restart: N processes must
not give an attacker N times the attempts. Without one they are counted in this process.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable

#: records one failure of an address and returns how many it had within ``window`` seconds
Counter = Callable[[str, float], int]


class FailureThrottle:
    def __init__(
        self,
        free: int = 5,
        window: float = 60.0,
        base: float = 0.1,
        cap: float = 3.0,
        counter: Counter | None = None,
    ) -> None:
        self.counter = counter
        self.free = free
        self.window = window
        self.base = base
        self.cap = cap
        self._seen: OrderedDict[str, list[float]] = OrderedDict()

    def delay_for(self, address: str) -> float:
        """Record one failure from ``address`` and return how long its answer should wait."""
        if self.counter is not None:
            return self._delay(self.counter(address, self.window))
        now = time.monotonic()
        stamps = [t for t in self._seen.pop(address, []) if now - t < self.window]
        stamps.append(now)
        self._seen[address] = stamps
        while len(self._seen) > 10_000:
            self._seen.popitem(last=False)
        return self._delay(len(stamps))

    def _delay(self, count: int) -> float:
        over = count - self.free
        return 0.0 if over <= 0 or self.cap <= 0 else min(self.cap, self.base * 2 ** (over - 1))

    async def failed(self, address: str) -> None:
        if self.counter is not None:  # a database write: not on the event loop
            loop = asyncio.get_running_loop()
            delay = await loop.run_in_executor(None, self.delay_for, address)
        else:
            delay = self.delay_for(address)
        if delay:
            await asyncio.sleep(delay)
