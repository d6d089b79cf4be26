"""
The real clock: the process's monotonic clock, wall time, asyncio sleep.
"""

from __future__ import annotations

import asyncio
import time

__all__ = ["SystemClock"]


class SystemClock:
    """The ``Clock`` port on the operating system's clocks."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        return time.monotonic()

    def time(self) -> float:
        """Wall-clock UTC seconds since the epoch."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``; zero or negative yields to the loop once."""
        await asyncio.sleep(max(0.0, seconds))
