"""
What to do while the Claude CLI retries a failed API request.

The CLI reports each retry as a ``system`` / ``api_retry`` event and,
left alone, keeps retrying for minutes (ten attempts with exponential
back-off on 2.1.142 and 2.1.332). Some failures clear by themselves,
others never will; ``judge_retry`` tells them apart so the warden stops
a hopeless run at once and reports the real cause instead of a timeout.

The policy, first matching rule wins::

    dead login     401, 403, authentication_failed, oauth_org_not_allowed
                   -> stop now: auth (a heal or a human re-login fixes it)
    billing        billing_error
                   -> stop now: usage_limit (credits or plan; a human)
    overload       529, any 5xx, overloaded, server_error, and failures
                   with no status (connection errors)
                   -> let the CLI retry up to ``max_overload_attempts``
                      while its next delay ends before the deadline;
                      then stop: api_error
    usage limit    429, rate_limit
                   -> stop now when a quota was rejected (a
                      ``rate_limit_event`` said so) or the API asks to
                      wait longer than ``max_rate_limit_delay``: it will
                      not clear before its reset time; otherwise a
                      short throttle: retry up to
                      ``max_rate_limit_attempts`` within the deadline;
                      then stop: usage_limit
    anything else  -> continue (the CLI's own limit still applies)

The HTTP status wins over the error word: 2.1.142 calls a 529
``rate_limit``, 2.1.332 calls it ``overloaded``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum, unique

from returns.result import Failure, Result, Success

from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.domain.events import ApiRetry

__all__ = [
    "RetryDecision",
    "RetryPolicy",
    "RetryVerdict",
    "judge_retry",
]

_DEAD_LOGIN_ERRORS = frozenset(
    {"authentication_failed", "oauth_org_not_allowed"}
)
_DEAD_LOGIN_STATUSES = frozenset({401, 403})
_OVERLOAD_ERRORS = frozenset({"overloaded", "server_error"})
_OVERLOADED = 529
_RATE_LIMITED = 429
_SERVER_ERRORS = range(500, 600)


@unique
class RetryVerdict(StrEnum):
    """Whether to let the CLI retry, and if not, why not."""

    CONTINUE = "continue"
    STOP_DEAD_LOGIN = "stop_dead_login"
    STOP_BILLING = "stop_billing"
    STOP_USAGE_LIMIT = "stop_usage_limit"
    STOP_OVERLOADED = "stop_overloaded"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """
    How long the warden lets the CLI retry what may clear by itself.

    Attempts count as the CLI numbers them (the first retry is 1).
    """

    #: The CLI's own ceiling (``max_retries`` is 10 on every version run
    #: so far): by default only the deadline cuts an overload short.
    max_overload_attempts: int = 10
    #: A throttle that does not lift after three waits is a quota.
    max_rate_limit_attempts: int = 3
    #: The API's ``retry-after`` for a passing throttle is seconds; a
    #: longer wait means a quota that resets in hours.
    max_rate_limit_delay: float = 60.0

    def __post_init__(self) -> None:
        for name, value in (
            ("max_overload_attempts", self.max_overload_attempts),
            ("max_rate_limit_attempts", self.max_rate_limit_attempts),
            ("max_rate_limit_delay", self.max_rate_limit_delay),
        ):
            if not value > 0:
                msg = f"{name} must be positive, got {value!r}"
                raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """A verdict, with the error to report when it stops the run."""

    verdict: RetryVerdict
    error: WardenError | None = None

    @property
    def stops(self) -> bool:
        """Whether the run should be stopped now."""
        return self.verdict is not RetryVerdict.CONTINUE

    def to_result(self) -> Result[None, WardenError]:
        """``Success`` to let the CLI retry, ``Failure`` to stop the run."""
        if self.error is None:
            return Success(None)

        return Failure(self.error)


def judge_retry(
    retry: ApiRetry,
    *,
    policy: RetryPolicy | None = None,
    remaining: float | None = None,
    quota_rejected: bool = False,
) -> RetryDecision:
    """
    Decide whether the run may go on after ``retry``.

    ``remaining`` is the time left, in seconds, before the run's hard
    deadline (``None``: no deadline). ``quota_rejected`` tells that this
    run already saw a ``rate_limit_event`` whose status was ``rejected``.
    """
    policy = policy or RetryPolicy()
    status, error = retry.error_status, retry.error or ""
    if error in _DEAD_LOGIN_ERRORS or status in _DEAD_LOGIN_STATUSES:
        return _stop(
            RetryVerdict.STOP_DEAD_LOGIN,
            ErrorKind.AUTH,
            "the API rejected the login; retrying cannot fix it: log in "
            "again (or let the warden heal)",
            retry,
        )
    if error == "billing_error":
        return _stop(
            RetryVerdict.STOP_BILLING,
            ErrorKind.USAGE_LIMIT,
            "the API refused for billing (credits or plan); retrying "
            "cannot fix it: check the account's billing",
            retry,
        )
    if _is_overload(status, error):
        return _judge_overload(retry, policy, remaining)
    if status == _RATE_LIMITED or error == "rate_limit":
        return _judge_rate_limit(retry, policy, remaining, quota_rejected)

    return RetryDecision(RetryVerdict.CONTINUE)


def _is_overload(status: int | None, error: str) -> bool:
    if status is not None:
        return status == _OVERLOADED or status in _SERVER_ERRORS

    return error in _OVERLOAD_ERRORS or error in {"", "unknown"}


def _judge_overload(
    retry: ApiRetry,
    policy: RetryPolicy,
    remaining: float | None,
) -> RetryDecision:
    if _passes_deadline(retry, remaining):
        return _stop(
            RetryVerdict.STOP_OVERLOADED,
            ErrorKind.API_ERROR,
            "the API is overloaded and the next retry would start after "
            "the run's deadline",
            retry,
        )
    if (retry.attempt or 0) > policy.max_overload_attempts:
        return _stop(
            RetryVerdict.STOP_OVERLOADED,
            ErrorKind.API_ERROR,
            f"the API is still overloaded after "
            f"{policy.max_overload_attempts} retries",
            retry,
        )

    return RetryDecision(RetryVerdict.CONTINUE)


def _judge_rate_limit(
    retry: ApiRetry,
    policy: RetryPolicy,
    remaining: float | None,
    quota_rejected: bool,
) -> RetryDecision:
    delay = _delay(retry)
    if quota_rejected or delay > policy.max_rate_limit_delay:
        reason = "a usage quota was rejected; it clears only at its reset"
    elif _passes_deadline(retry, remaining):
        reason = "the next retry would start after the run's deadline"
    elif (retry.attempt or 0) > policy.max_rate_limit_attempts:
        reason = (
            f"still rate limited after {policy.max_rate_limit_attempts} "
            "retries"
        )
    else:
        return RetryDecision(RetryVerdict.CONTINUE)

    return _stop(
        RetryVerdict.STOP_USAGE_LIMIT,
        ErrorKind.USAGE_LIMIT,
        f"the API limits this account's usage: {reason}",
        retry,
    )


def _passes_deadline(retry: ApiRetry, remaining: float | None) -> bool:
    return remaining is not None and _delay(retry) >= remaining


def _delay(retry: ApiRetry) -> float:
    """The CLI's wait before its next attempt, in seconds."""
    return max(0.0, (retry.retry_delay_ms or 0.0) / 1000)


def _stop(
    verdict: RetryVerdict,
    kind: ErrorKind,
    message: str,
    retry: ApiRetry,
) -> RetryDecision:
    evidence = (
        f"api_retry attempt={retry.attempt} max_retries={retry.max_retries} "
        f"retry_delay_ms={retry.retry_delay_ms} "
        f"error_status={retry.error_status} error={retry.error}"
    )

    seen = ", ".join(
        part
        for part in (
            f"HTTP {retry.error_status}" if retry.error_status else "",
            retry.error or "",
            f"retry {retry.attempt}" if retry.attempt else "",
        )
        if part
    )
    text = f"{message} ({seen})" if seen else message
    error = WardenError(kind, text, detail=evidence)

    return RetryDecision(verdict, error)
