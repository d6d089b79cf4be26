"""
Claude Code's own error sentences, as data, with predicates over them.

The CLI words its failures differently from one release to the next, so
each predicate looks for short, stable fragments, case-insensitively,
anywhere in the text it is given (a result, an ``errors`` entry, a
stderr tail). Structured signals (``is_error``, ``api_error_status``, the
assistant ``error`` code) are better evidence and are checked first by
the reply; these phrases are the fallback and the only signal on stderr.
The sentences they come from are quoted in the stream reference, §6.
"""

from __future__ import annotations

import re

__all__ = [
    "API_ERROR_PHRASES",
    "AUTH_PHRASES",
    "SESSION_MISSING_PHRASES",
    "THROTTLE_PHRASES",
    "USAGE_LIMIT_PHRASES",
    "VERBOSE_MISSING_PHRASES",
    "is_api_error",
    "is_auth_failure",
    "is_session_missing",
    "is_throttled",
    "is_usage_limit",
    "is_verbose_missing",
]

#: Not logged in, a key or token that is wrong, expired or revoked.
AUTH_PHRASES: tuple[str, ...] = (
    "not logged in",
    "please run /login",
    "invalid api key",
    "oauth token has expired",
    "token has expired",
    "oauth token revoked",
    "oauth session expired",
    "authentication_error",
    "authentication_failed",
    "failed to authenticate",
    "unauthenticated",
    "authentication required",
    "invalid authentication credentials",
    "login expired",
    "could not resolve authentication method",
    "invalid bearer token",
    "apikeyhelper script is failing",
)

#: The plan's quota or the prepaid credit is used up.
USAGE_LIMIT_PHRASES: tuple[str, ...] = (
    "usage limit reached",
    "credit balance is too low",
    "credit balance too low",
    "out of extra usage",
)

# "You've hit your session limit", "... weekly limit", "... Opus limit",
# "You've hit your limit · resets 1pm": a few words may sit in between.
_HIT_YOUR_LIMIT = re.compile(r"hit your\b[^.·\n]{0,40}?\blimit")

# The API's own throttle says outright that it is no quota problem.
_NOT_A_QUOTA = ("not your usage limit",)

#: The API failed or is overloaded; retrying later may help.
API_ERROR_PHRASES: tuple[str, ...] = (
    "api error",
    "overloaded",
    "overloaded_error",
    "internal server error",
    "server_error",
    "request timed out",
    "temporarily limiting requests",
    "temporary capacity issue",
)

#: A 429 that is the API's own throttle, not the plan's quota.
THROTTLE_PHRASES: tuple[str, ...] = (
    "temporarily limiting requests",
    "temporary capacity issue",
)

#: ``--resume`` named a session this sandbox does not have.
SESSION_MISSING_PHRASES: tuple[str, ...] = (
    "no conversation found",
    "invalid session",
    "session not found",
    "could not resume",
    "failed to resume the conversation",
    "--resume requires a valid session id",
)

#: stream-json was asked for without ``--verbose``.
VERBOSE_MISSING_PHRASES: tuple[str, ...] = ("requires --verbose",)


def is_auth_failure(text: str) -> bool:
    """Tell whether ``text`` says the login is missing or no longer works."""
    return _contains_any(text.lower(), AUTH_PHRASES)


def is_usage_limit(text: str) -> bool:
    """Tell whether ``text`` says a usage limit or the credit ran out."""
    lowered = text.lower()
    for disclaimer in _NOT_A_QUOTA:
        lowered = lowered.replace(disclaimer, "")

    return _contains_any(lowered, USAGE_LIMIT_PHRASES) or bool(
        _HIT_YOUR_LIMIT.search(lowered),
    )


def is_api_error(text: str) -> bool:
    """Tell whether ``text`` reports an API failure or an overload."""
    return _contains_any(text.lower(), API_ERROR_PHRASES)


def is_throttled(text: str) -> bool:
    """Tell whether ``text`` is a temporary throttle rather than a quota."""
    return _contains_any(text.lower(), THROTTLE_PHRASES)


def is_session_missing(text: str) -> bool:
    """Tell whether ``text`` says the session to resume does not exist."""
    return _contains_any(text.lower(), SESSION_MISSING_PHRASES)


def is_verbose_missing(text: str) -> bool:
    """Tell whether ``text`` is the CLI refusing stream-json without it."""
    return _contains_any(text.lower(), VERBOSE_MISSING_PHRASES)


def _contains_any(lowered: str, phrases: tuple[str, ...]) -> bool:
    return any(phrase in lowered for phrase in phrases)
