from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.pipeline import is_successful

from sandwarden.domain.breaker import BreakerPolicy, BreakerState
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.healing import HealRecord
from sandwarden.domain.healplan import HealCause
from sandwarden.domain.watchdog import (
    Action,
    ProbeReport,
    WatchdogPolicy,
    WatchdogState,
    awaiting_login,
)

T0 = 1_750_000_000.0
POLICY = WatchdogPolicy()
BREAKER = BreakerPolicy()
CLOSED = BREAKER.peek(BreakerState(), T0)
OPEN = BREAKER.peek(BreakerState(opened_at=T0 - 100.0), T0)
EXPIRED = WardenError(ErrorKind.AUTH, "OAuth token has expired")
LIMIT = WardenError(ErrorKind.USAGE_LIMIT, "usage limit reached")
STORE_DOWN = WardenError(ErrorKind.STORAGE, "database is locked")


def test_a_healthy_sandbox_is_checked_again_after_the_interval() -> None:
    decision = POLICY.decide(
        WatchdogState(),
        ProbeReport.healthy(),
        T0,
        breaker=CLOSED,
        self_heal=True,
    )

    assert decision.action is Action.NOTHING
    assert decision.next_at == T0 + 300.0
    assert not decision.notify


def test_an_unhealthy_sandbox_is_healed_with_its_trigger() -> None:
    decision = POLICY.decide(
        WatchdogState(),
        ProbeReport.unhealthy(EXPIRED),
        T0,
        breaker=CLOSED,
        self_heal=True,
    )

    assert decision.action is Action.HEAL
    assert decision.trigger is not None
    assert decision.trigger.cause is HealCause.LOGIN


def test_an_open_breaker_backs_off_until_the_trial_or_the_interval() -> None:
    decision = POLICY.decide(
        WatchdogState(),
        ProbeReport.unhealthy(EXPIRED),
        T0,
        breaker=OPEN,
        self_heal=True,
    )

    assert decision.action is Action.BACK_OFF
    assert decision.next_at == T0 + 300.0
    assert "self-heal paused" in decision.why


def test_with_self_heal_off_it_only_alerts() -> None:
    decision = POLICY.decide(
        WatchdogState(),
        ProbeReport.unhealthy(EXPIRED),
        T0,
        breaker=CLOSED,
        self_heal=False,
    )

    assert decision.action is Action.ALERT_ONLY
    assert decision.notify
    assert "self-heal is disabled" in decision.why


def test_a_failure_a_heal_cannot_fix_alerts_once_with_the_reason() -> None:
    first = POLICY.decide(
        WatchdogState(),
        ProbeReport.unhealthy(LIMIT),
        T0,
        breaker=CLOSED,
        self_heal=True,
    )
    second = POLICY.decide(
        first.state,
        ProbeReport.unhealthy(LIMIT),
        first.next_at,
        breaker=CLOSED,
        self_heal=True,
    )
    recovered = POLICY.decide(
        second.state,
        ProbeReport.healthy(),
        second.next_at,
        breaker=CLOSED,
        self_heal=True,
    )

    assert first.action is second.action is Action.ALERT_ONLY
    assert "account" in first.why
    assert (first.notify, second.notify, recovered.notify) == (
        True,
        False,
        True,
    )


def test_a_sandbox_waiting_for_a_login_is_not_replaced() -> None:
    decision = POLICY.decide(
        WatchdogState(),
        ProbeReport.unhealthy(EXPIRED),
        T0,
        breaker=CLOSED,
        self_heal=True,
        awaiting_login=True,
    )

    assert decision.action is Action.ALERT_ONLY
    assert "waiting for an operator to log in" in decision.why


def test_a_sandbox_waiting_for_a_login_that_vanished_is_healed() -> None:
    gone = WardenError.unavailable(UnavailableReason.NOT_FOUND, "gone")

    decision = POLICY.decide(
        WatchdogState(),
        ProbeReport.unhealthy(gone),
        T0,
        breaker=CLOSED,
        self_heal=True,
        awaiting_login=True,
    )

    assert decision.action is Action.HEAL


def test_a_probe_that_cannot_run_backs_off_then_alerts() -> None:
    state = WatchdogState()
    now = T0
    decisions = []
    for _ in range(5):
        decision = POLICY.decide(
            state,
            ProbeReport.not_run(STORE_DOWN),
            now,
            breaker=CLOSED,
            self_heal=True,
        )
        decisions.append(decision)
        state, now = decision.state, decision.next_at

    waits = [b.next_at - a.next_at for a, b in pairwise(decisions)]
    assert decisions[0].next_at == T0 + 30.0
    assert waits == [60.0, 120.0, 240.0, 480.0]
    assert [d.action for d in decisions] == [
        Action.BACK_OFF,
        Action.BACK_OFF,
        Action.ALERT_ONLY,
        Action.ALERT_ONLY,
        Action.ALERT_ONLY,
    ]
    assert [d.notify for d in decisions] == [False, False, True, False, False]


def test_the_back_off_is_capped() -> None:
    assert POLICY.backoff(1) == 30.0
    assert POLICY.backoff(1000) == 1800.0


def test_a_threshold_confirms_a_failure_before_healing() -> None:
    policy = WatchdogPolicy(unhealthy_threshold=2)

    first = policy.decide(
        WatchdogState(),
        ProbeReport.unhealthy(EXPIRED),
        T0,
        breaker=CLOSED,
        self_heal=True,
    )
    second = policy.decide(
        first.state,
        ProbeReport.unhealthy(EXPIRED),
        first.next_at,
        breaker=CLOSED,
        self_heal=True,
    )

    assert first.action is Action.BACK_OFF
    assert first.next_at == T0 + 30.0
    assert second.action is Action.HEAL


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"interval": 0.0}, "interval"),
        ({"interval": float("inf")}, "interval"),
        ({"interval": 60.0, "max_backoff": -1.0}, "max_backoff"),
        ({"interval": 60.0, "unhealthy_threshold": 0}, "unhealthy_threshold"),
    ],
)
def test_a_policy_refuses_unusable_numbers(
    arguments: dict[str, float],
    named: str,
) -> None:
    result = WatchdogPolicy.parse(**arguments)  # type: ignore[arg-type]

    assert not is_successful(result)
    assert named in result.failure().message


def test_only_a_partial_heal_of_the_active_sandbox_awaits_a_login() -> None:
    partial = HealRecord(T0, T0 + 60, "auth: expired", False, "bot-heal")
    failed = HealRecord(T0, T0 + 60, "auth: expired", False, None)
    healed = HealRecord(T0, T0 + 60, "auth: expired", True, "bot-heal")

    assert awaiting_login(partial, "bot-heal")
    assert not awaiting_login(partial, "bot")
    assert not awaiting_login(failed, "bot-heal")
    assert not awaiting_login(healed, "bot-heal")
    assert not awaiting_login(None, "bot-heal")


errors = st.sampled_from(
    [
        EXPIRED,
        LIMIT,
        STORE_DOWN,
        WardenError(ErrorKind.STALLED, "silent"),
        WardenError.unavailable(UnavailableReason.DAEMON_DOWN, "down"),
    ],
)
reports = (
    st.just(ProbeReport.healthy())
    | st.builds(ProbeReport.unhealthy, errors)
    | st.builds(ProbeReport.not_run, errors)
)


@given(
    steps=st.lists(
        st.tuples(reports, st.booleans(), st.booleans(), st.booleans()),
        max_size=30,
    ),
)
def test_the_watchdog_always_looks_again_and_heals_only_when_allowed(
    steps: list[tuple[ProbeReport, bool, bool, bool]],
) -> None:
    state, now = WatchdogState(), T0
    conditions: list[str | None] = []
    for report, self_heal, breaker_open, waiting in steps:
        breaker = OPEN if breaker_open else CLOSED

        decision = POLICY.decide(
            state,
            report,
            now,
            breaker=breaker,
            self_heal=self_heal,
            awaiting_login=waiting,
        )

        assert now < decision.next_at <= now + POLICY.max_backoff
        if decision.action is Action.HEAL:
            assert self_heal
            assert breaker.allowed
            assert decision.trigger is not None
        if decision.notify and decision.action is Action.ALERT_ONLY:
            assert decision.state.alerted not in conditions[-1:]
        conditions.append(decision.state.alerted)
        state, now = decision.state, decision.next_at
