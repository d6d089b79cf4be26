"""
One error taxonomy for the whole warden, with stable codes.

Every fallible call returns ``Result[T, WardenError]``; the ``kind`` says
what went wrong and, by its branch, what recovers from it::

    WardenError
    ├── needs a human or a heal
    │   ├── auth                  not logged in, token expired or revoked
    │   ├── billing_guard         API-key or third-party billing refused
    │   ├── sandbox_unavailable   (reason: plugin_missing, daemon_down,
    │   │                          not_found, not_running, feature_disabled,
    │   │                          wedged, probe_failed, create_failed)
    │   ├── workspace_mismatch    listed workspace differs from configured
    │   ├── parity_mismatch       host and sandbox see other commits
    │   └── breaker_open          too many failed heals in the window
    ├── the run itself
    │   ├── timeout               hard deadline passed
    │   ├── stalled               no output for the inactivity period
    │   ├── cancelled             the caller cancelled
    │   └── truncated             stream ended without a result
    ├── what Claude reported (reply error kinds)
    │   ├── session_not_found     resume of an unknown session
    │   ├── usage_limit           plan or rate limit reached
    │   ├── api_error             API failure (overloaded, 5xx, 4xx)
    │   ├── max_turns             --max-turns reached
    │   ├── max_budget            --max-budget-usd reached
    │   └── execution_error       any other error result
    ├── the tools
    │   ├── desktop_required      image store (Docker Desktop) is down
    │   ├── unsupported           the tool lacks this operation
    │   ├── unsupported_option    the CLI does not know an option
    │   ├── not_found             a named image, tag or file is missing
    │   └── already_exists        a sandbox of that name exists
    └── ours
        ├── invalid_input         a value, setting or file is unusable
        ├── storage               state or backup storage failed
        ├── locked                another process holds the heal lock
        └── unknown               unrecognised failure, kept verbatim
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum, unique

__all__ = [
    "REPLY_ERROR_KINDS",
    "ErrorKind",
    "UnavailableReason",
    "WardenError",
]


@unique
class ErrorKind(StrEnum):
    """The stable code of a failure; its values are part of the API."""

    AUTH = "auth"
    BILLING_GUARD = "billing_guard"
    SANDBOX_UNAVAILABLE = "sandbox_unavailable"
    WORKSPACE_MISMATCH = "workspace_mismatch"
    PARITY_MISMATCH = "parity_mismatch"
    BREAKER_OPEN = "breaker_open"
    TIMEOUT = "timeout"
    STALLED = "stalled"
    CANCELLED = "cancelled"
    TRUNCATED = "truncated"
    SESSION_NOT_FOUND = "session_not_found"
    USAGE_LIMIT = "usage_limit"
    API_ERROR = "api_error"
    MAX_TURNS = "max_turns"
    MAX_BUDGET = "max_budget"
    EXECUTION_ERROR = "execution_error"
    DESKTOP_REQUIRED = "desktop_required"
    UNSUPPORTED = "unsupported"
    UNSUPPORTED_OPTION = "unsupported_option"
    NOT_FOUND = "not_found"
    ALREADY_EXISTS = "already_exists"
    INVALID_INPUT = "invalid_input"
    STORAGE = "storage"
    LOCKED = "locked"
    UNKNOWN = "unknown"


#: The kinds a ``Reply`` may carry, exactly the codes of a Claude run.
REPLY_ERROR_KINDS = frozenset(
    {
        ErrorKind.AUTH,
        ErrorKind.USAGE_LIMIT,
        ErrorKind.API_ERROR,
        ErrorKind.MAX_TURNS,
        ErrorKind.MAX_BUDGET,
        ErrorKind.EXECUTION_ERROR,
        ErrorKind.SESSION_NOT_FOUND,
        ErrorKind.TRUNCATED,
    },
)


@unique
class UnavailableReason(StrEnum):
    """Why a sandbox cannot be used; refines ``sandbox_unavailable``."""

    PLUGIN_MISSING = "plugin_missing"
    TOOL_MISSING = "tool_missing"
    DAEMON_DOWN = "daemon_down"
    NOT_FOUND = "not_found"
    NOT_RUNNING = "not_running"
    FEATURE_DISABLED = "feature_disabled"
    WEDGED = "wedged"
    PROBE_FAILED = "probe_failed"
    CREATE_FAILED = "create_failed"


@dataclass(frozen=True, slots=True)
class WardenError:
    """
    A failure as a value.

    ``message`` is one sentence for a human: what was wrong and what was
    expected. ``detail`` keeps the raw evidence (a stderr tail, an error
    sentence from Claude) for logs and ``--json``.
    """

    kind: ErrorKind
    message: str
    reason: UnavailableReason | None = None
    detail: str = ""

    def __str__(self) -> str:
        if self.reason is None:
            return f"{self.kind}: {self.message}"

        return f"{self.kind} ({self.reason}): {self.message}"

    def with_detail(self, detail: str) -> WardenError:
        """Return a copy carrying ``detail`` as its evidence."""
        return replace(self, detail=detail)

    @classmethod
    def invalid(cls, message: str) -> WardenError:
        """Build an ``invalid_input`` error."""
        return cls(ErrorKind.INVALID_INPUT, message)

    @classmethod
    def unavailable(
        cls,
        reason: UnavailableReason,
        message: str,
        detail: str = "",
    ) -> WardenError:
        """Build a ``sandbox_unavailable`` error with its reason."""
        return cls(ErrorKind.SANDBOX_UNAVAILABLE, message, reason, detail)
