from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.pipeline import is_successful

from sandwarden.domain.errors import ErrorKind
from sandwarden.domain.events import ApiRetry
from sandwarden.domain.retries import (
    RetryPolicy,
    RetryVerdict,
    judge_retry,
)


def retry(
    status: int | None,
    error: str | None,
    attempt: int = 1,
    delay_ms: float = 500.0,
) -> ApiRetry:
    return ApiRetry(
        session_id="s",
        attempt=attempt,
        max_retries=10,
        retry_delay_ms=delay_ms,
        error_status=status,
        error=error,
    )


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, "authentication_failed"),
        (403, None),
        (None, "oauth_org_not_allowed"),
        (401, "unknown"),
    ],
)
def test_a_rejected_login_stops_at_the_first_retry(
    status: int | None, error: str | None
) -> None:
    event = retry(status, error, attempt=1)

    decision = judge_retry(event)

    assert decision.verdict is RetryVerdict.STOP_DEAD_LOGIN
    assert decision.error is not None
    assert decision.error.kind is ErrorKind.AUTH


def test_the_dead_login_error_names_the_status_and_keeps_the_evidence() -> (
    None
):
    event = retry(401, "authentication_failed", attempt=2, delay_ms=1146)

    decision = judge_retry(event)

    assert decision.error is not None
    assert "HTTP 401" in decision.error.message
    assert "authentication_failed" in decision.error.message
    assert "retry_delay_ms=1146" in decision.error.detail


def test_a_billing_refusal_stops_as_a_usage_limit() -> None:
    event = retry(400, "billing_error")

    decision = judge_retry(event)

    assert decision.verdict is RetryVerdict.STOP_BILLING
    assert decision.error is not None
    assert decision.error.kind is ErrorKind.USAGE_LIMIT


def test_an_overload_is_retried_while_it_fits_the_policy() -> None:
    event = retry(529, "overloaded", attempt=3, delay_ms=2000)

    decision = judge_retry(event, remaining=60.0)

    assert decision.verdict is RetryVerdict.CONTINUE
    assert decision.error is None
    assert is_successful(decision.to_result())


def test_an_overload_past_the_attempt_limit_stops_as_an_api_error() -> None:
    event = retry(529, "overloaded", attempt=4)

    decision = judge_retry(event, policy=RetryPolicy(max_overload_attempts=3))

    assert decision.verdict is RetryVerdict.STOP_OVERLOADED
    assert decision.error is not None
    assert decision.error.kind is ErrorKind.API_ERROR


def test_an_overload_whose_next_retry_passes_the_deadline_stops() -> None:
    event = retry(529, "overloaded", attempt=1, delay_ms=4000)

    decision = judge_retry(event, remaining=3.5)

    assert decision.verdict is RetryVerdict.STOP_OVERLOADED
    assert decision.error is not None
    assert "deadline" in decision.error.message


def test_a_529_called_rate_limit_by_an_old_cli_is_an_overload() -> None:
    # 2.1.142 reports a 529 with error "rate_limit" (captured).
    event = retry(529, "rate_limit", attempt=5)

    decision = judge_retry(
        event, policy=RetryPolicy(max_rate_limit_attempts=1)
    )

    assert decision.verdict is RetryVerdict.CONTINUE


@pytest.mark.parametrize("status", [500, 502, 503, None])
def test_server_errors_and_lost_connections_follow_the_overload_rule(
    status: int | None,
) -> None:
    error = "server_error" if status else "unknown"
    policy = RetryPolicy(max_overload_attempts=2)

    early = judge_retry(retry(status, error, attempt=2), policy=policy)
    late = judge_retry(retry(status, error, attempt=3), policy=policy)

    assert early.verdict is RetryVerdict.CONTINUE
    assert late.verdict is RetryVerdict.STOP_OVERLOADED


def test_a_short_throttle_is_retried_a_few_times() -> None:
    policy = RetryPolicy(max_rate_limit_attempts=2)

    early = judge_retry(retry(429, "rate_limit", attempt=2), policy=policy)
    late = judge_retry(retry(429, "rate_limit", attempt=3), policy=policy)

    assert early.verdict is RetryVerdict.CONTINUE
    assert late.verdict is RetryVerdict.STOP_USAGE_LIMIT


def test_a_rejected_quota_stops_at_once() -> None:
    event = retry(429, "rate_limit", attempt=1, delay_ms=1000)

    decision = judge_retry(event, quota_rejected=True)

    assert decision.verdict is RetryVerdict.STOP_USAGE_LIMIT
    assert decision.error is not None
    assert decision.error.kind is ErrorKind.USAGE_LIMIT
    assert "quota" in decision.error.message


def test_a_long_retry_after_is_taken_as_a_quota() -> None:
    event = retry(429, "rate_limit", attempt=1, delay_ms=3_600_000)

    decision = judge_retry(event)

    assert decision.verdict is RetryVerdict.STOP_USAGE_LIMIT
    assert decision.error is not None
    assert "reset" in decision.error.message


def test_a_throttle_whose_wait_passes_the_deadline_stops() -> None:
    event = retry(429, "rate_limit", attempt=1, delay_ms=5000)

    decision = judge_retry(event, remaining=2.0)

    assert decision.verdict is RetryVerdict.STOP_USAGE_LIMIT


def test_other_client_errors_are_left_to_the_cli() -> None:
    event = retry(400, "invalid_request")

    decision = judge_retry(event)

    assert decision.verdict is RetryVerdict.CONTINUE


@pytest.mark.parametrize(
    "field", ["max_overload_attempts", "max_rate_limit_delay"]
)
def test_a_policy_refuses_a_limit_that_is_not_positive(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        RetryPolicy(**{field: 0})


statuses = st.one_of(st.none(), st.integers(100, 599))
errors = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "authentication_failed",
            "oauth_org_not_allowed",
            "billing_error",
            "rate_limit",
            "overloaded",
            "invalid_request",
            "model_not_found",
            "server_error",
            "max_output_tokens",
            "unknown",
        ]
    ),
    st.text(max_size=12),
)
events = st.builds(
    ApiRetry,
    session_id=st.none(),
    attempt=st.one_of(st.none(), st.integers(0, 50)),
    max_retries=st.one_of(st.none(), st.integers(0, 50)),
    retry_delay_ms=st.one_of(st.none(), st.floats(0, 1e8, allow_nan=False)),
    error_status=statuses,
    error=errors,
)
remainings = st.one_of(st.none(), st.floats(0, 1e5, allow_nan=False))


@given(events, remainings, st.booleans())
def test_a_decision_carries_an_error_exactly_when_it_stops(
    event: ApiRetry, remaining: float | None, quota_rejected: bool
) -> None:
    decision = judge_retry(
        event, remaining=remaining, quota_rejected=quota_rejected
    )

    assert decision.stops == (decision.error is not None)
    assert is_successful(decision.to_result()) == (not decision.stops)


@given(events, remainings, st.booleans())
def test_a_dead_login_always_stops_as_auth_whatever_else_it_says(
    event: ApiRetry, remaining: float | None, quota_rejected: bool
) -> None:
    dead = event.error_status in {401, 403} or event.error in {
        "authentication_failed",
        "oauth_org_not_allowed",
    }

    decision = judge_retry(
        event, remaining=remaining, quota_rejected=quota_rejected
    )

    assert (decision.verdict is RetryVerdict.STOP_DEAD_LOGIN) == dead
    if dead:
        assert decision.error is not None
        assert decision.error.kind is ErrorKind.AUTH


@given(events, st.floats(0, 1e5, allow_nan=False))
def test_no_transient_retry_may_outlast_the_deadline(
    event: ApiRetry, remaining: float
) -> None:
    transient = judge_retry(event).verdict is RetryVerdict.CONTINUE
    waits_too_long = (event.retry_delay_ms or 0) / 1000 >= remaining
    limited = event.error_status in {429, 529} or (
        event.error_status is not None and 500 <= event.error_status < 600
    )

    decision = judge_retry(event, remaining=remaining)

    if transient and waits_too_long and limited:
        assert decision.stops


@given(events, st.integers(1, 20))
def test_an_overload_allowed_at_some_attempt_is_allowed_at_every_earlier_one(
    event: ApiRetry, limit: int
) -> None:
    policy = RetryPolicy(max_overload_attempts=limit)
    later = judge_retry(event, policy=policy)
    earlier_event = ApiRetry(
        event.session_id,
        max(0, (event.attempt or 0) - 1),
        event.max_retries,
        event.retry_delay_ms,
        event.error_status,
        event.error,
    )

    earlier = judge_retry(earlier_event, policy=policy)

    if not later.stops:
        assert not earlier.stops
