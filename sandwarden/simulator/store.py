"""
``InMemoryStateStore``: the ``StateStore`` port in a dictionary.

Values are kept as the real store keeps them (their JSON), so a value
that would not survive storage fails here too. The heal lock's lease
runs on the given clock.
"""

from __future__ import annotations

from returns.result import Result, Success

from sandwarden.domain.breaker import BreakerState
from sandwarden.domain.conversation import Conversation
from sandwarden.domain.errors import WardenError
from sandwarden.domain.healing import HealRecord
from sandwarden.domain.values import SandboxName
from sandwarden.ports import Clock

__all__ = ["InMemoryStateStore"]


class InMemoryStateStore:
    """Everything the warden remembers, in memory."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._active: SandboxName | None = None
        self._breaker = BreakerState().to_json()
        self._heals: list[str] = []
        self._conversations: dict[str, Conversation] = {}
        self._lock: tuple[str, float] | None = None

    async def active_sandbox(self) -> Result[SandboxName | None, WardenError]:
        """The active sandbox, if one was chosen."""
        return Success(self._active)

    async def set_active_sandbox(
        self,
        name: SandboxName,
    ) -> Result[None, WardenError]:
        """Make ``name`` the active sandbox."""
        self._active = name
        return Success(None)

    async def breaker(self) -> Result[BreakerState, WardenError]:
        """The stored breaker state."""
        return BreakerState.from_json(self._breaker)

    async def save_breaker(
        self,
        state: BreakerState,
    ) -> Result[None, WardenError]:
        """Store the breaker state."""
        self._breaker = state.to_json()
        return Success(None)

    async def record_heal(
        self,
        record: HealRecord,
    ) -> Result[None, WardenError]:
        """Append a heal to the history."""
        self._heals.append(record.to_json())
        return Success(None)

    async def heal_history(
        self,
        limit: int,
    ) -> Result[tuple[HealRecord, ...], WardenError]:
        """The last ``limit`` heals, oldest first."""
        recent = self._heals[-limit:] if limit > 0 else []
        records = [HealRecord.from_json(text).unwrap() for text in recent]

        return Success(tuple(records))

    async def mark_heal_undone(
        self,
        ended_at: float,
        at: float,
    ) -> Result[bool, WardenError]:
        """Mark the successful heal that ended at ``ended_at`` undone."""
        for index in range(len(self._heals) - 1, -1, -1):
            record = HealRecord.from_json(self._heals[index]).unwrap()
            if _undoable(record, ended_at):
                self._heals[index] = record.undone(at).to_json()
                return Success(True)

        return Success(False)

    async def conversation(
        self,
        key: str,
    ) -> Result[Conversation | None, WardenError]:
        """The conversation under ``key``, if any."""
        return Success(self._conversations.get(key))

    async def save_conversation(
        self,
        conversation: Conversation,
    ) -> Result[None, WardenError]:
        """Store or replace a conversation."""
        self._conversations[conversation.key] = conversation
        return Success(None)

    async def forget_conversation(
        self,
        key: str,
    ) -> Result[None, WardenError]:
        """Drop a conversation; a missing one is fine."""
        self._conversations.pop(key, None)
        return Success(None)

    async def acquire_heal_lock(
        self,
        owner: str,
        ttl: float,
    ) -> Result[bool, WardenError]:
        """Take the lock unless another owner holds a live lease."""
        now = self._clock.monotonic()
        held = self._lock
        if held is not None and held[0] != owner and held[1] > now:
            return Success(False)
        self._lock = (owner, now + ttl)

        return Success(True)

    async def release_heal_lock(self, owner: str) -> Result[None, WardenError]:
        """Give the lock back if ``owner`` holds it."""
        if self._lock is not None and self._lock[0] == owner:
            self._lock = None

        return Success(None)


def _undoable(record: HealRecord, ended_at: float) -> bool:
    return record.held and record.ended_at == ended_at
