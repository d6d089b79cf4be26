"""
The health watchdog's decisions: after each probe, what to do and when
to look again.

The service loop is: probe the active sandbox, ``decide``, act, sleep
until ``next_at``. The loop survives its own errors: whatever stops the
probe from running (an exception, a dead store, a tool that hangs) is
reported as ``ProbeReport.not_run`` and answered with an exponential
back-off, from ``error_backoff`` doubling up to ``max_backoff``, and an
alert once ``alert_after_errors`` probes in a row could not run.

Alerts are edge-triggered: ``notify`` is set when a condition first
appears (or changes), not at every check while it lasts, and once more
when the sandbox is healthy again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum, unique

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.domain.breaker import BreakerDecision
from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.domain.healing import HealRecord
from sandwarden.domain.healplan import HealTrigger, heal_trigger

__all__ = [
    "Action",
    "ProbeKind",
    "ProbeReport",
    "WatchdogDecision",
    "WatchdogPolicy",
    "WatchdogState",
    "awaiting_login",
]


@unique
class ProbeKind(StrEnum):
    """What the last probe found."""

    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    NOT_RUN = "not_run"


@dataclass(frozen=True, slots=True)
class ProbeReport:
    """The last probe's result; ``error`` for the two unhappy kinds."""

    kind: ProbeKind
    error: WardenError | None = None

    @classmethod
    def healthy(cls) -> ProbeReport:
        """The sandbox answered, logged in, over the right workspace."""
        return cls(ProbeKind.HEALTHY)

    @classmethod
    def unhealthy(cls, error: WardenError) -> ProbeReport:
        """The probe ran and found ``error``."""
        return cls(ProbeKind.UNHEALTHY, error)

    @classmethod
    def not_run(cls, error: WardenError) -> ProbeReport:
        """The probe could not run at all (the watchdog's own failure)."""
        return cls(ProbeKind.NOT_RUN, error)


@unique
class Action(StrEnum):
    """What the watchdog does after a probe."""

    NOTHING = "nothing"
    HEAL = "heal"
    ALERT_ONLY = "alert_only"
    BACK_OFF = "back_off"


@dataclass(frozen=True, slots=True)
class WatchdogState:
    """What the watchdog remembers between checks."""

    unhealthy_in_a_row: int = 0
    errors_in_a_row: int = 0
    alerted: str | None = None


@dataclass(frozen=True, slots=True)
class WatchdogDecision:
    """
    The action, when to check next, why, and the state to keep.

    ``trigger`` is set for ``HEAL``. ``notify`` says the operator should
    hear of this decision (a new condition, or a recovery).
    """

    action: Action
    next_at: float
    why: str
    state: WatchdogState
    trigger: HealTrigger | None = None
    notify: bool = False


@dataclass(frozen=True, slots=True)
class WatchdogPolicy:
    """
    How often to probe and how to back off.

    ``interval`` is the specification's 5 minutes
    (``SANDBOX_HEALTH_WATCHDOG_INTERVAL_MS=300000``). The error back-off
    starts at 30 s, a probe's own time limit, and stops at 30 minutes,
    twice the breaker's window, so a long outage is still seen.
    ``unhealthy_threshold`` above 1 confirms a failure, ``confirm_after``
    seconds later, before healing; the default heals at once, as the
    specification does.
    """

    interval: float = 300.0
    error_backoff: float = 30.0
    max_backoff: float = 1800.0
    unhealthy_threshold: int = 1
    confirm_after: float = 30.0
    alert_after_errors: int = 3

    def __post_init__(self) -> None:
        problem = _policy_problem(self)
        if problem is not None:
            raise ValueError(problem)

    @classmethod
    def parse(
        cls,
        interval: float = 300.0,
        *,
        error_backoff: float = 30.0,
        max_backoff: float = 1800.0,
        unhealthy_threshold: int = 1,
        confirm_after: float = 30.0,
        alert_after_errors: int = 3,
    ) -> Result[WatchdogPolicy, WardenError]:
        """Build a policy from settings, refusing unusable numbers."""
        try:
            policy = cls(
                interval,
                error_backoff,
                max_backoff,
                unhealthy_threshold,
                confirm_after,
                alert_after_errors,
            )
        except ValueError as error:
            return Failure(WardenError.invalid(str(error)))

        return Success(policy)

    def decide(
        self,
        state: WatchdogState,
        report: ProbeReport,
        now: float,
        *,
        breaker: BreakerDecision,
        self_heal: bool,
        awaiting_login: bool = False,
    ) -> WatchdogDecision:
        """
        Decide what follows ``report``, seen at ``now``.

        ``breaker`` is the breaker's answer without claiming a trial
        (``BreakerPolicy.peek``): the heal claims it itself.
        ``awaiting_login`` says the active sandbox is one a heal left for
        an operator to log in to: it is not replaced while it waits.
        """
        match report.kind:
            case ProbeKind.HEALTHY:
                return WatchdogDecision(
                    Action.NOTHING,
                    now + self.interval,
                    "healthy",
                    WatchdogState(),
                    notify=state.alerted is not None,
                )
            case ProbeKind.NOT_RUN:
                return self._not_run(state, _error_of(report), now)
            case ProbeKind.UNHEALTHY:
                return self._unhealthy(
                    state,
                    _error_of(report),
                    now,
                    breaker=breaker,
                    self_heal=self_heal,
                    awaiting_login=awaiting_login,
                )

    def backoff(self, errors_in_a_row: int) -> float:
        """Seconds to wait after that many probes in a row did not run."""
        doublings = min(max(0, errors_in_a_row - 1), 32)

        return min(self.max_backoff, self.error_backoff * 2.0**doublings)

    def _not_run(
        self,
        state: WatchdogState,
        error: WardenError,
        now: float,
    ) -> WatchdogDecision:
        errors = state.errors_in_a_row + 1
        state = replace(state, errors_in_a_row=errors)
        next_at = now + self.backoff(errors)
        why = f"the probe could not run ({error})"
        if errors < self.alert_after_errors:
            return WatchdogDecision(Action.BACK_OFF, next_at, why, state)

        return _alert(
            state,
            "watchdog_blind",
            next_at,
            f"{why}, {errors} times in a row",
        )

    def _unhealthy(
        self,
        state: WatchdogState,
        error: WardenError,
        now: float,
        *,
        breaker: BreakerDecision,
        self_heal: bool,
        awaiting_login: bool,
    ) -> WatchdogDecision:
        state = replace(
            state,
            errors_in_a_row=0,
            unhealthy_in_a_row=state.unhealthy_in_a_row + 1,
        )
        later = now + self.interval
        trigger = heal_trigger(error)
        if not is_successful(trigger):
            return _alert(
                state,
                f"not_healed:{error.kind}",
                later,
                f"{error}; {trigger.failure().message}",
            )
        if not self_heal:
            return _alert(
                state,
                f"self_heal_off:{error.kind}",
                later,
                f"{error}; self-heal is disabled",
            )
        if awaiting_login and error.kind is ErrorKind.AUTH:
            return _alert(
                state,
                "awaiting_login",
                later,
                f"{error}; waiting for an operator to log in",
            )
        if state.unhealthy_in_a_row < self.unhealthy_threshold:
            return WatchdogDecision(
                Action.BACK_OFF,
                now + self.confirm_after,
                f"{error}; confirming ({state.unhealthy_in_a_row} of "
                f"{self.unhealthy_threshold} probes failed)",
                state,
            )
        if not breaker.allowed:
            retry = later if breaker.retry_at is None else breaker.retry_at
            return WatchdogDecision(
                Action.BACK_OFF,
                max(min(retry, later), now + self.confirm_after),
                f"{error}; {breaker.why}",
                state,
            )

        return WatchdogDecision(
            Action.HEAL,
            later,
            f"{error}; healing",
            WatchdogState(),
            trigger=trigger.unwrap(),
        )


def awaiting_login(record: HealRecord | None, active: str | None) -> bool:
    """
    Tell whether the last heal left ``active`` waiting for a login.

    A heal record names a sandbox without success only when the heal
    ended on a sandbox that needs an operator (``HealPlan.record``).
    """
    if record is None or active is None:
        return False

    return not record.succeeded and record.sandbox == active


def _alert(
    state: WatchdogState,
    condition: str,
    next_at: float,
    why: str,
) -> WatchdogDecision:
    return WatchdogDecision(
        Action.ALERT_ONLY,
        next_at,
        why,
        replace(state, alerted=condition),
        notify=state.alerted != condition,
    )


def _error_of(report: ProbeReport) -> WardenError:
    if report.error is not None:
        return report.error

    return WardenError(ErrorKind.UNKNOWN, "the probe gave no reason")


def _policy_problem(policy: WatchdogPolicy) -> str | None:
    for name in (
        "interval",
        "error_backoff",
        "max_backoff",
        "confirm_after",
    ):
        value = getattr(policy, name)
        if not (
            isinstance(value, (int, float))
            and math.isfinite(value)
            and value > 0
        ):
            return (
                f"watchdog {name} must be a positive number of seconds, "
                f"got {value!r}"
            )
    for name in ("unhealthy_threshold", "alert_after_errors"):
        value = getattr(policy, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return (
                f"watchdog {name} must be an integer of at least 1, "
                f"got {value!r}"
            )

    return None
