"""
The heal lock: one change to the serving sandbox at a time.

A heal holds it while it swaps or replaces the active sandbox; a template
save holds it while it snapshots (and, under sbx, stops) the sandbox. It
is the store's lease (``StateStore.acquire_heal_lock``), so it also
orders the processes that share one state store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from returns.pipeline import is_successful

from sandwarden.service.deps import Deps
from sandwarden.service.journal import Topic

__all__ = ["holding_heal_lock"]


@asynccontextmanager
async def holding_heal_lock(
    deps: Deps,
    owner: str,
    doing: str,
) -> AsyncIterator[bool]:
    """
    Hold the cross-process heal lock; tell whether it had to wait.

    Whatever changes which sandbox serves (a heal, a template save that
    stops the sandbox) holds it. ``doing`` names the holder's work for
    the journal. The wait ends when the lock is free or the configured
    ``lock_ttl`` has passed (a crashed holder's lease runs out).
    """
    ttl = deps.config.lock_ttl
    waited = False
    deadline = deps.clock.monotonic() + ttl
    while True:
        taken = await deps.store.acquire_heal_lock(owner, ttl)
        if not is_successful(taken):
            # A store that cannot lock must not stop the work; at worst
            # two processes change the sandbox at once, and the breaker
            # counts both heals.
            deps.note(
                Topic.HEAL_STEP,
                f"heal lock unavailable for the {doing}: "
                f"{taken.failure().message}",
            )
            break
        if taken.unwrap() or deps.clock.monotonic() >= deadline:
            break
        if not waited:
            deps.note(
                Topic.HEAL_STEP,
                f"another process holds the heal lock; the {doing} waits",
            )
        waited = True
        await deps.clock.sleep(deps.config.lock_poll)
    try:
        yield waited
    finally:
        await deps.store.release_heal_lock(owner)
