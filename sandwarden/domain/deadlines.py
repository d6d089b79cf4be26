"""
Deadline arithmetic for a run: a hard limit and an inactivity limit.

Times are plain seconds on one monotonic clock, passed in by the caller,
so the real runtime and the simulator stop a run at the same instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum, unique

__all__ = ["Deadlines", "Limits", "Stop"]


@unique
class Stop(StrEnum):
    """Why a run was stopped before it ended by itself."""

    HARD_TIMEOUT = "timeout"
    STALLED = "stalled"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Limits:
    """
    How long a run may take, and how long it may stay silent.

    ``None`` means no such limit. Silence is measured on both output
    streams together: any byte on stdout or stderr is activity.
    """

    hard: float | None
    inactivity: float | None = None

    def __post_init__(self) -> None:
        for name, value in (
            ("hard", self.hard),
            ("inactivity", self.inactivity),
        ):
            if value is not None and not value > 0:
                msg = f"{name} limit must be positive seconds, got {value!r}"
                raise ValueError(msg)

    def start(self, now: float) -> Deadlines:
        """Start counting at ``now``."""
        return Deadlines(self, started=now, last_activity=now)


@dataclass(frozen=True, slots=True)
class Deadlines:
    """The deadlines of one run, started at ``started``."""

    limits: Limits
    started: float
    last_activity: float

    def touched(self, now: float) -> Deadlines:
        """Record output seen at ``now``."""
        return Deadlines(
            self.limits, self.started, max(now, self.last_activity)
        )

    def hard_at(self) -> float | None:
        """The instant the hard limit fires, if there is one."""
        if self.limits.hard is None:
            return None

        return self.started + self.limits.hard

    def stall_at(self) -> float | None:
        """The instant the inactivity limit fires, given activity so far."""
        if self.limits.inactivity is None:
            return None

        return self.last_activity + self.limits.inactivity

    def next_at(self) -> float | None:
        """The earliest instant at which a limit could fire."""
        instants = [
            t for t in (self.hard_at(), self.stall_at()) if t is not None
        ]

        return min(instants, default=None)

    def expired(self, now: float) -> Stop | None:
        """
        Tell which limit has fired at ``now``, if any.

        When both have fired, the hard limit wins: it is the promise the
        caller was given.
        """
        hard = self.hard_at()
        if hard is not None and now >= hard:
            return Stop.HARD_TIMEOUT
        stall = self.stall_at()
        if stall is not None and now >= stall:
            return Stop.STALLED

        return None

    def remaining(self, now: float) -> float | None:
        """Seconds until the next limit fires (0 when one has fired)."""
        at = self.next_at()
        if at is None:
            return None

        return max(0.0, at - now)
