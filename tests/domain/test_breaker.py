from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from returns.pipeline import is_successful

from sandwarden.domain.breaker import (
    BreakerChange,
    BreakerPolicy,
    BreakerState,
    Verdict,
)
from sandwarden.domain.errors import ErrorKind

T0 = 1_750_000_000.0
POLICY = BreakerPolicy()


def failed_three_times(at: float = T0) -> BreakerState:
    state = BreakerState()
    for offset in (0.0, 60.0, 120.0):
        state = POLICY.record_failure(state, at + offset).state
    return state


def test_a_fresh_breaker_allows_heals() -> None:
    decision = POLICY.decide(BreakerState(), T0)

    assert decision.verdict is Verdict.CLOSED
    assert decision.allowed
    assert decision.error() is None


def test_the_third_failure_in_the_window_opens_the_breaker_once() -> None:
    state = BreakerState()

    changes = []
    for offset in (0.0, 60.0, 120.0):
        update = POLICY.record_failure(state, T0 + offset)
        changes.append(update.change)
        state = update.state

    assert changes == [
        BreakerChange.NONE,
        BreakerChange.NONE,
        BreakerChange.OPENED,
    ]
    assert state.opened_at == T0 + 120.0


def test_an_open_breaker_refuses_with_breaker_open_and_a_retry_time() -> None:
    state = failed_three_times()

    decision = POLICY.decide(state, T0 + 300.0)

    assert decision.verdict is Verdict.OPEN
    assert decision.retry_at == T0 + 120.0 + 900.0
    error = decision.error()
    assert error is not None
    assert error.kind is ErrorKind.BREAKER_OPEN
    assert "3 heals failed within 15 min" in error.message


def test_failures_older_than_the_window_slide_out() -> None:
    state = POLICY.record_failure(BreakerState(), T0).state
    state = POLICY.record_failure(state, T0 + 100.0).state

    update = POLICY.record_failure(state, T0 + 950.0)

    assert update.change is BreakerChange.NONE
    assert update.state.failures == (T0 + 100.0, T0 + 950.0)
    assert POLICY.decide(update.state, T0 + 960.0).verdict is Verdict.CLOSED


def test_after_the_window_exactly_one_trial_is_allowed() -> None:
    state = failed_three_times()
    after_window = T0 + 120.0 + 900.0

    first = POLICY.decide(state, after_window)
    second = POLICY.decide(first.state, after_window + 1.0)

    assert first.verdict is Verdict.TRIAL
    assert first.state.trial_started_at == after_window
    assert second.verdict is Verdict.OPEN
    assert "trial heal is in progress" in second.why


def test_peek_shows_the_trial_without_claiming_it() -> None:
    state = failed_three_times()
    after_window = T0 + 120.0 + 900.0

    peeked = POLICY.peek(state, after_window)

    assert peeked.verdict is Verdict.TRIAL
    assert peeked.state.trial_started_at is None
    assert POLICY.decide(peeked.state, after_window).verdict is Verdict.TRIAL


def test_a_successful_trial_closes_the_breaker() -> None:
    trial = POLICY.decide(failed_three_times(), T0 + 1020.0).state

    update = POLICY.record_success(trial, T0 + 1080.0)

    assert update.change is BreakerChange.CLOSED
    assert update.state == BreakerState(last_success_at=T0 + 1080.0)
    assert POLICY.decide(update.state, T0 + 1081.0).verdict is Verdict.CLOSED


def test_a_failed_trial_reopens_for_another_window_without_a_new_alert() -> (
    None
):
    trial = POLICY.decide(failed_three_times(), T0 + 1020.0).state

    update = POLICY.record_failure(trial, T0 + 1080.0)

    assert update.change is BreakerChange.REOPENED
    decision = POLICY.decide(update.state, T0 + 1100.0)
    assert decision.verdict is Verdict.OPEN
    assert decision.retry_at == T0 + 1080.0 + 900.0


def test_a_trial_that_never_reports_expires_as_a_failure() -> None:
    trial = POLICY.decide(failed_three_times(), T0 + 1020.0).state
    expired_at = T0 + 1020.0 + POLICY.trial_timeout

    during = POLICY.decide(trial, expired_at - 1.0)
    after = POLICY.decide(trial, expired_at + 1.0)

    assert during.verdict is Verdict.OPEN
    assert during.retry_at == expired_at
    assert after.verdict is Verdict.OPEN
    assert after.state.trial_started_at is None
    assert after.state.opened_at == expired_at
    assert after.retry_at == expired_at + 900.0
    assert POLICY.decide(after.state, expired_at + 900.0).verdict is (
        Verdict.TRIAL
    )


def test_a_heal_that_breaks_inside_the_window_counts_as_failed() -> None:
    state = BreakerState()
    for minute in (0, 4, 8):
        at = T0 + minute * 60.0
        state = POLICY.record_success(state, at).state
        update = POLICY.record_breakage(state, at + 60.0)
        state = update.state

    assert update.change is BreakerChange.OPENED
    assert len(state.failures) == 3


def test_reporting_the_same_breakage_twice_counts_it_once() -> None:
    state = POLICY.record_success(BreakerState(), T0).state

    once = POLICY.record_breakage(state, T0 + 10.0).state
    twice = POLICY.record_breakage(once, T0 + 20.0).state

    assert twice.failures == (T0 + 10.0,)


def test_a_breakage_long_after_the_last_heal_is_not_flapping() -> None:
    state = POLICY.record_success(BreakerState(), T0).state

    update = POLICY.record_breakage(state, T0 + 901.0)

    assert update.change is BreakerChange.NONE
    assert update.state.failures == ()


def test_a_breakage_without_any_heal_counts_for_nothing() -> None:
    update = POLICY.record_breakage(BreakerState(), T0)

    assert update.state == BreakerState()


def test_a_success_does_not_wipe_failures_of_a_closed_breaker() -> None:
    state = POLICY.record_failure(BreakerState(), T0).state
    state = POLICY.record_failure(state, T0 + 10.0).state
    state = POLICY.record_success(state, T0 + 20.0).state

    update = POLICY.record_failure(state, T0 + 30.0)

    assert update.change is BreakerChange.OPENED


def test_a_forced_heal_failing_while_open_restarts_the_wait() -> None:
    state = failed_three_times()

    update = POLICY.record_failure(state, T0 + 500.0)

    assert update.change is BreakerChange.NONE
    assert POLICY.decide(update.state, T0 + 1300.0).retry_at == (T0 + 1400.0)


def test_a_success_while_open_closes_the_breaker() -> None:
    update = POLICY.record_success(failed_three_times(), T0 + 300.0)

    assert update.change is BreakerChange.CLOSED
    assert POLICY.decide(update.state, T0 + 301.0).verdict is Verdict.CLOSED


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ((0, 900.0, 600.0), "max_failures"),
        ((3, 0.0, 600.0), "window"),
        ((3, -5.0, 600.0), "window"),
        ((3, float("nan"), 600.0), "window"),
        ((3, 900.0, float("inf")), "trial_timeout"),
    ],
)
def test_a_policy_refuses_unusable_numbers(
    arguments: tuple[int, float, float],
    named: str,
) -> None:
    result = BreakerPolicy.parse(*arguments)

    assert not is_successful(result)
    assert named in result.failure().message
    with pytest.raises(ValueError, match=named):
        BreakerPolicy(*arguments)


def test_a_policy_from_settings_keeps_its_numbers() -> None:
    result = BreakerPolicy.parse(5, 60.0, 30.0)

    assert result.unwrap() == BreakerPolicy(5, 60.0, 30.0)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        "{}",
        '{"failures": "1", "opened_at": null, "trial_started_at": null,'
        ' "last_success_at": null}',
        '{"failures": ["1"], "opened_at": null, "trial_started_at": null,'
        ' "last_success_at": null}',
        '{"failures": [], "opened_at": true, "trial_started_at": null,'
        ' "last_success_at": null}',
        '{"failures": [NaN], "opened_at": null, "trial_started_at": null,'
        ' "last_success_at": null}',
    ],
)
def test_unreadable_stored_state_is_refused_with_a_clear_error(
    text: str,
) -> None:
    result = BreakerState.from_json(text)

    assert not is_successful(result)
    assert "BreakerState.to_json" in result.failure().message


instants = st.floats(0, 4e9, allow_nan=False, allow_infinity=False)


@given(
    failures=st.lists(instants, max_size=6),
    opened_at=st.none() | instants,
    trial=st.none() | instants,
    success=st.none() | instants,
)
def test_any_state_round_trips_through_json(
    failures: list[float],
    opened_at: float | None,
    trial: float | None,
    success: float | None,
) -> None:
    state = BreakerState(tuple(sorted(failures)), opened_at, trial, success)

    assert BreakerState.from_json(state.to_json()).unwrap() == state


@dataclass
class Heal:
    started: float
    trial: bool


class BreakerMachine(RuleBasedStateMachine):
    """
    A service that obeys the breaker, with one heal at a time (the lock).

    Heals may fail, succeed, or vanish (the process died); the active
    sandbox may break. The stored state goes through JSON at every step.
    """

    def __init__(self) -> None:
        super().__init__()
        self.policy = POLICY
        self.state = BreakerState()
        self.now = T0
        self.heal: Heal | None = None
        self.reported_failures: list[float] = []
        self.last_success: float | None = None
        self.openings = 0

    @initialize(
        max_failures=st.integers(1, 4),
        window=st.sampled_from([60.0, 900.0]),
        trial_timeout=st.sampled_from([30.0, 600.0]),
    )
    def choose_policy(
        self,
        max_failures: int,
        window: float,
        trial_timeout: float,
    ) -> None:
        self.policy = BreakerPolicy(max_failures, window, trial_timeout)

    def store(self, state: BreakerState) -> None:
        self.state = BreakerState.from_json(state.to_json()).unwrap()
        assert self.state == state

    def count(self, change: BreakerChange, before: BreakerState) -> None:
        if change is BreakerChange.OPENED:
            assert before.opened_at is None
            self.openings += 1

    @rule(seconds=st.floats(0, 2000))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds

    @precondition(lambda self: self.heal is None)
    @rule(broke_first=st.booleans())
    def start_a_heal(self, broke_first: bool) -> None:
        if broke_first:
            self.sandbox_breaks()

        decision = self.policy.decide(self.state, self.now)

        if decision.verdict is Verdict.OPEN:
            assert decision.retry_at is not None
            assert decision.retry_at > self.now
        else:
            self.heal = Heal(self.now, decision.verdict is Verdict.TRIAL)
        self.store(decision.state)

    @precondition(lambda self: self.heal is not None)
    @rule()
    def the_heal_fails(self) -> None:
        before = self.state

        update = self.policy.record_failure(self.state, self.now)

        self.reported_failures.append(self.now)
        self.last_success = None
        self.count(update.change, before)
        self.store(update.state)
        self.heal = None

    @precondition(lambda self: self.heal is not None)
    @rule()
    def the_heal_succeeds(self) -> None:
        update = self.policy.record_success(self.state, self.now)

        assert update.state.opened_at is None
        self.last_success = self.now
        self.store(update.state)
        self.heal = None

    @precondition(lambda self: self.heal is not None)
    @rule()
    def the_healing_process_dies(self) -> None:
        self.heal = None

    @precondition(lambda self: self.heal is None)
    @rule()
    def sandbox_breaks(self) -> None:
        before = self.state
        flapping = (
            self.last_success is not None
            and self.now - self.last_success < self.policy.window
        )

        update = self.policy.record_breakage(self.state, self.now)

        if flapping:
            self.reported_failures.append(self.now)
        self.last_success = None
        self.count(update.change, before)
        self.store(update.state)

    @invariant()
    def never_more_failures_in_a_window_than_allowed(self) -> None:
        times = sorted(self.reported_failures)
        for index, start in enumerate(times):
            inside = [t for t in times[index:] if t - start < self.window]
            assert len(inside) <= self.policy.max_failures

    @property
    def window(self) -> float:
        return self.policy.window

    @invariant()
    def at_most_one_trial_at_a_time(self) -> None:
        decision = self.policy.decide(self.state, self.now)
        heal = self.heal
        running = (
            heal is not None
            and heal.trial
            and self.now < heal.started + self.policy.trial_timeout
        )
        if running:
            assert decision.verdict is Verdict.OPEN

    @invariant()
    def the_stored_window_never_holds_more_than_allowed(self) -> None:
        decision = self.policy.decide(self.state, self.now)

        assert len(decision.state.failures) <= self.policy.max_failures


BreakerMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
)
TestBreakerMachine = BreakerMachine.TestCase
