"""
The circuit breaker over heals: its rules, and its state as a value.

The breaker counts failed heals in a sliding window. With the policy's
defaults (the specification's: 3 failures in 15 minutes)::

    closed ──3rd failure in the window──▶ open ──window passed──▶ half-open
      ▲                                    ▲                        │
      │                                    └──trial failed/expired──┤
      └──────────────────────trial succeeded────────────────────────┘

- A heal whose sandbox breaks again inside the window counts as failed
  (``record_breakage``): a sandbox that heals and breaks, over and over,
  opens the breaker like one that never heals. A success therefore does
  not wipe the failures of a closed breaker; they slide out with time.
- Half-open admits exactly one trial: ``decide`` claims it in the state
  it returns, so a second caller (another task, another process reading
  the same stored state) is refused until the trial reports back.
- A trial that never reports back (its process died) is presumed failed
  once ``trial_timeout`` has passed since it started: that counts as a
  failure at the instant it expired, and the breaker opens for another
  window. Keep ``trial_timeout`` at least as long as a whole heal may
  take (the heal lock's time to live is the natural value).

Every function takes the state and ``now`` (wall-clock epoch seconds)
and returns a new state; nothing here reads a clock or stores anything.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum, unique

from returns.result import Failure, Result, Success

from sandwarden.domain.errors import ErrorKind, WardenError

__all__ = [
    "BreakerChange",
    "BreakerDecision",
    "BreakerPolicy",
    "BreakerState",
    "BreakerUpdate",
    "Verdict",
]


@dataclass(frozen=True, slots=True)
class BreakerState:
    """
    Everything the breaker remembers, in wall-clock epoch seconds.

    Wall time, not monotonic time: the state is stored and read back by
    other processes and after restarts. ``failures`` holds the instants
    of failed heals still inside the window, oldest first; ``opened_at``
    is set while the breaker is open or half-open; ``trial_started_at``
    while the one half-open trial runs; ``last_success_at`` is the last
    successful heal not yet undone by a breakage.
    """

    failures: tuple[float, ...] = ()
    opened_at: float | None = None
    trial_started_at: float | None = None
    last_success_at: float | None = None

    def to_json(self) -> str:
        """Serialise for a store."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Result[BreakerState, WardenError]:
        """Read back what ``to_json`` wrote; refuse anything else."""
        try:
            raw = json.loads(text)
            if not isinstance(raw, dict):
                msg = f"expected an object, got {type(raw).__name__}"
                raise TypeError(msg)
            if not isinstance(raw["failures"], list):
                msg = "expected failures to be a list of numbers"
                raise TypeError(msg)
            state = cls(
                failures=tuple(
                    sorted(_number(t) for t in raw["failures"]),
                ),
                opened_at=_optional_number(raw["opened_at"]),
                trial_started_at=_optional_number(raw["trial_started_at"]),
                last_success_at=_optional_number(raw["last_success_at"]),
            )
        except (ValueError, TypeError, KeyError) as error:
            return Failure(
                WardenError.invalid(
                    f"stored breaker state is unreadable ({error}); "
                    "expected the JSON object BreakerState.to_json writes",
                ),
            )

        return Success(state)


@unique
class Verdict(StrEnum):
    """Whether a heal may start now."""

    CLOSED = "closed"
    TRIAL = "trial"
    OPEN = "open"


@dataclass(frozen=True, slots=True)
class BreakerDecision:
    """
    The breaker's answer at one instant, and the state to store.

    ``TRIAL`` means the caller now holds the one half-open trial: store
    ``state`` before healing and report the outcome with
    ``record_success`` or ``record_failure``. ``retry_at`` says, for
    ``OPEN``, when a trial may be claimed.
    """

    verdict: Verdict
    state: BreakerState
    retry_at: float | None = None
    failures: int = 0
    why: str = ""

    @property
    def allowed(self) -> bool:
        """Tell whether the caller may heal now."""
        return self.verdict is not Verdict.OPEN

    def error(self) -> WardenError | None:
        """The ``breaker_open`` error for a refusal; None when allowed."""
        if self.allowed:
            return None

        return WardenError(ErrorKind.BREAKER_OPEN, self.why)


@unique
class BreakerChange(StrEnum):
    """
    What a recorded outcome did to the breaker.

    ``OPENED`` happens once per opening, on the failure that trips a
    closed breaker: alert the operator then. ``REOPENED`` is a failed or
    abandoned trial (the breaker was already open; log it). ``CLOSED``
    is a recovery.
    """

    NONE = "none"
    OPENED = "opened"
    REOPENED = "reopened"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class BreakerUpdate:
    """The state after an outcome was recorded, and what changed."""

    state: BreakerState
    change: BreakerChange = BreakerChange.NONE


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """
    The breaker's rules: how many failed heals in what window.

    The defaults are the specification's (``SANDBOX_SELF_HEAL_MAX_
    ATTEMPTS=3``, ``SANDBOX_SELF_HEAL_WINDOW_MS=900000``); the trial
    timeout of 10 minutes outlasts a heal that probes a few candidates
    at the specification's 30 s probe limit and creates two sandboxes.
    """

    max_failures: int = 3
    window: float = 900.0
    trial_timeout: float = 600.0

    def __post_init__(self) -> None:
        problem = _policy_problem(
            self.max_failures, self.window, self.trial_timeout
        )
        if problem is not None:
            raise ValueError(problem)

    @classmethod
    def parse(
        cls,
        max_failures: int = 3,
        window: float = 900.0,
        trial_timeout: float = 600.0,
    ) -> Result[BreakerPolicy, WardenError]:
        """Build a policy from settings, refusing unusable numbers."""
        problem = _policy_problem(max_failures, window, trial_timeout)
        if problem is not None:
            return Failure(WardenError.invalid(problem))

        return Success(cls(max_failures, window, trial_timeout))

    def decide(self, state: BreakerState, now: float) -> BreakerDecision:
        """
        Tell whether a heal may start at ``now``; claim the trial if so.

        The returned state must be stored whatever the verdict: it drops
        failures that slid out of the window and settles abandoned trials.
        """
        state = self._expire_trial(self._prune(state, now), now)
        if state.opened_at is None:
            return BreakerDecision(
                Verdict.CLOSED,
                state,
                failures=len(state.failures),
                why="self-heal allowed",
            )
        if state.trial_started_at is not None:
            return BreakerDecision(
                Verdict.OPEN,
                state,
                retry_at=state.trial_started_at + self.trial_timeout,
                failures=len(state.failures),
                why=(
                    "self-heal paused: a trial heal is in progress since "
                    f"{_utc(state.trial_started_at)}; if it never reports "
                    "back, the next trial at "
                    f"{_utc(state.trial_started_at + self.trial_timeout)}"
                ),
            )
        retry_at = state.opened_at + self.window
        if now < retry_at:
            return BreakerDecision(
                Verdict.OPEN,
                state,
                retry_at=retry_at,
                failures=len(state.failures),
                why=(
                    f"self-heal paused: {self._limit_text()}; "
                    f"next trial at {_utc(retry_at)}"
                ),
            )

        return BreakerDecision(
            Verdict.TRIAL,
            replace(state, trial_started_at=now),
            failures=len(state.failures),
            why="self-heal allowed for one trial after the breaker opened",
        )

    def peek(self, state: BreakerState, now: float) -> BreakerDecision:
        """
        Tell what ``decide`` would answer, without claiming a trial.

        For status displays and the watchdog; its state is for showing,
        not storing: start a heal only through ``decide``.
        """
        decision = self.decide(state, now)
        if decision.verdict is Verdict.TRIAL:
            return replace(
                decision,
                state=replace(decision.state, trial_started_at=None),
                why="self-heal allowed: the next heal is the trial",
            )

        return decision

    def record_failure(
        self,
        state: BreakerState,
        now: float,
    ) -> BreakerUpdate:
        """Count a failed heal at ``now``; open the breaker if it trips."""
        state = self._expire_trial(self._prune(state, now), now)
        # A heal runs because the active sandbox broke, so the last
        # success has been undone: a later breakage report of the same
        # fault must not count a second time.
        failed = replace(
            state,
            failures=_inserted(state.failures, now),
            trial_started_at=None,
            last_success_at=None,
        )
        if state.trial_started_at is not None:
            return BreakerUpdate(
                replace(failed, opened_at=now),
                BreakerChange.REOPENED,
            )
        if state.opened_at is not None:
            # A heal ran while open (an operator forced it): the wait
            # restarts from this latest failure, as the spec's window does.
            return BreakerUpdate(
                replace(failed, opened_at=max(now, state.opened_at)),
            )
        if len(failed.failures) >= self.max_failures:
            return BreakerUpdate(
                replace(failed, opened_at=now),
                BreakerChange.OPENED,
            )

        return BreakerUpdate(failed)

    def record_success(
        self,
        state: BreakerState,
        now: float,
    ) -> BreakerUpdate:
        """
        Count a successful heal at ``now``.

        It closes an open breaker (a trial passed, or an operator's heal
        did); a closed breaker keeps its failures, so that flapping still
        adds up.
        """
        state = self._prune(state, now)
        if state.opened_at is not None:
            return BreakerUpdate(
                BreakerState(last_success_at=now),
                BreakerChange.CLOSED,
            )

        return BreakerUpdate(replace(state, last_success_at=now))

    def record_breakage(
        self,
        state: BreakerState,
        now: float,
    ) -> BreakerUpdate:
        """
        Note that the active sandbox broke at ``now``.

        If the last successful heal is younger than the window, that heal
        did not hold: it counts as a failed heal, once (reporting the same
        breakage twice counts it once). An older heal, or none, counts
        for nothing: sandboxes do break now and then.
        """
        last = state.last_success_at
        if last is None or now - last >= self.window:
            return BreakerUpdate(self._prune(state, now))

        return self.record_failure(
            replace(state, last_success_at=None),
            now,
        )

    def _prune(self, state: BreakerState, now: float) -> BreakerState:
        kept = tuple(t for t in state.failures if now - t < self.window)
        if kept == state.failures:
            return state

        return replace(state, failures=kept)

    def _expire_trial(self, state: BreakerState, now: float) -> BreakerState:
        started = state.trial_started_at
        if started is None or now < started + self.trial_timeout:
            return state

        expired = started + self.trial_timeout
        return replace(
            state,
            failures=_inserted(state.failures, expired),
            opened_at=expired,
            trial_started_at=None,
        )

    def _limit_text(self) -> str:
        return (
            f"{self.max_failures} heals failed within {_duration(self.window)}"
        )


def _policy_problem(
    max_failures: int,
    window: float,
    trial_timeout: float,
) -> str | None:
    if isinstance(max_failures, bool) or not isinstance(max_failures, int):
        return f"breaker max_failures must be an integer, got {max_failures!r}"
    if max_failures < 1:
        return f"breaker max_failures must be at least 1, got {max_failures}"
    for name, value in (("window", window), ("trial_timeout", trial_timeout)):
        if not (math.isfinite(value) and value > 0):
            return (
                f"breaker {name} must be a positive number of seconds, "
                f"got {value!r}"
            )

    return None


def _inserted(instants: tuple[float, ...], at: float) -> tuple[float, ...]:
    return tuple(sorted((*instants, at)))


def _utc(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration(seconds: float) -> str:
    if seconds % 60 == 0:
        return f"{int(seconds // 60)} min"

    return f"{seconds:g} s"


def _number(value: object) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number):
            return number
    msg = f"expected a finite number, got {value!r}"
    raise TypeError(msg)


def _optional_number(value: object) -> float | None:
    if value is None:
        return None

    return _number(value)
