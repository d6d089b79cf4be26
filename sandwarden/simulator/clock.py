"""
Virtual time: an asyncio event loop whose clock jumps instead of waiting.

``VirtualClock.run`` drives a coroutine on a loop whose ``time()`` is the
virtual clock and whose selector, when nothing is ready, moves the clock
to the earliest scheduled timer instead of blocking. So ``asyncio.sleep``,
``asyncio.timeout``, ``wait_for`` and every timer are virtual, the code
under test uses ordinary asyncio, and a simulated day passes in
milliseconds.

Ties: timers due at the same virtual instant fire in the order they were
scheduled (asyncio alone orders them by a heap, which is deterministic but
not first-come). A loop with nothing ready and nothing scheduled can never
make progress: that raises ``VirtualDeadlockError`` rather than hanging.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import selectors
from collections.abc import Callable, Coroutine, Mapping
from contextvars import Context
from typing import Any, TypeVar

__all__ = ["EPOCH", "VirtualClock", "VirtualDeadlockError"]

#: Wall-clock start of every simulation: 2026-01-01T00:00:00Z.
EPOCH = 1_767_225_600.0

_T = TypeVar("_T")


class VirtualDeadlockError(RuntimeError):
    """Every task waits and no wake-up is scheduled, or time ran out."""


class VirtualClock:
    """
    The ``Clock`` port on virtual time.

    ``monotonic()`` is virtual seconds since ``start``; ``time()`` is
    ``epoch`` plus those seconds. ``sleep`` is ``asyncio.sleep``, so it is
    virtual only inside ``run``. ``horizon`` (virtual seconds) stops a
    simulation that would otherwise run for ever.
    """

    def __init__(
        self,
        *,
        start: float = 0.0,
        epoch: float = EPOCH,
        horizon: float | None = None,
    ) -> None:
        self._now = start
        self._epoch = epoch
        self._horizon = horizon

    def monotonic(self) -> float:
        """Virtual seconds; never goes back."""
        return self._now

    def time(self) -> float:
        """Virtual wall-clock epoch seconds."""
        return self._epoch + self._now

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of virtual time (zero or less: yield once)."""
        await asyncio.sleep(max(0.0, seconds))

    def advance(self, seconds: float) -> None:
        """Move virtual time forward; the loop does this when idle."""
        if seconds < 0:
            msg = f"virtual time cannot go back ({seconds} seconds)"
            raise ValueError(msg)
        target = self._now + seconds
        if self._horizon is not None and target > self._horizon:
            msg = (
                f"virtual time would pass the horizon of {self._horizon} s "
                f"(now {self._now} s, next wake-up in {seconds} s)"
            )
            raise VirtualDeadlockError(msg)
        self._now = target

    def new_loop(self) -> asyncio.AbstractEventLoop:
        """A fresh event loop running on this clock."""
        return _VirtualLoop(self)

    def run(self, main: Coroutine[Any, Any, _T]) -> _T:
        """Run ``main`` to completion on virtual time; return its value."""
        with asyncio.Runner(loop_factory=self.new_loop) as runner:
            return runner.run(main)


class _OrderedTimer(asyncio.TimerHandle):
    """A timer that sorts by due time, then by scheduling order."""

    __slots__ = ("_order",)

    def __init__(
        self,
        order: int,
        *,
        when: float,
        callback: Callable[..., object],
        args: tuple[Any, ...],
        loop: asyncio.AbstractEventLoop,
        context: Context | None,
    ) -> None:
        super().__init__(when, callback, args, loop, context)
        self._order = order

    def _key(self) -> tuple[float, int]:
        return (self.when(), self._order)

    def __lt__(self, other: object) -> bool:
        if isinstance(other, _OrderedTimer):
            return self._key() < other._key()
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, _OrderedTimer):
            return self._key() <= other._key()
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, _OrderedTimer):
            return self._key() > other._key()
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, _OrderedTimer):
            return self._key() >= other._key()
        return NotImplemented

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)


class _IdleAdvancingSelector(selectors.BaseSelector):
    """
    A selector that turns every wait into a jump of virtual time.

    Real file descriptors (the loop's self-pipe) are still polled, without
    waiting, so thread-safe wake-ups keep working.
    """

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._real = selectors.DefaultSelector()

    def register(
        self,
        fileobj: Any,
        events: int,
        data: Any = None,
    ) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(
        self,
        fileobj: Any,
        events: int,
        data: Any = None,
    ) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def select(
        self,
        timeout: float | None = None,
    ) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            msg = (
                "virtual clock deadlock at "
                f"{self._clock.monotonic()} s: every task is waiting and "
                "no wake-up is scheduled"
            )
            raise VirtualDeadlockError(msg)
        self._clock.advance(timeout)

        return []

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()


class _VirtualLoop(asyncio.SelectorEventLoop):
    """A selector event loop on a ``VirtualClock``."""

    def __init__(self, clock: VirtualClock) -> None:
        self._virtual_clock = clock
        self._timer_order = itertools.count()
        super().__init__(_IdleAdvancingSelector(clock))

    def time(self) -> float:
        return self._virtual_clock.monotonic()

    def call_at(  # type: ignore[override]
        self,
        when: float,
        callback: Callable[..., object],
        *args: Any,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        self._check_closed()  # type: ignore[attr-defined]
        timer = _OrderedTimer(
            next(self._timer_order),
            when=when,
            callback=callback,
            args=args,
            loop=self,
            context=context,
        )
        heap = self._scheduled  # type: ignore[attr-defined]
        heapq.heappush(heap, timer)
        timer._scheduled = True  # type: ignore[attr-defined]

        return timer
