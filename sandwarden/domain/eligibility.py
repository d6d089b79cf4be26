"""
Heal eligibility: which failures replacing the sandbox can fix.

A failure in the sandbox (gone, wedged, logged out, stalled, over the
wrong workspace) heals; a failure of the account, the API, the task or
the caller does not, and the refusal says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum, unique
from typing import assert_never

from returns.result import Failure, Result, Success

from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError

__all__ = ["HealCause", "HealTrigger", "heal_trigger"]


@unique
class HealCause(StrEnum):
    """Why a heal starts; the failure kinds that recreating can fix."""

    UNAVAILABLE = "sandbox_unavailable"
    LOGIN = "auth"
    TIMEOUT = "timeout"
    STALLED = "stalled"
    WORKSPACE_MISMATCH = "workspace_mismatch"
    PARITY_MISMATCH = "parity_mismatch"
    REQUESTED = "requested"


@dataclass(frozen=True, slots=True)
class HealTrigger:
    """What started a heal: an eligible failure, or an operator."""

    cause: HealCause
    error: WardenError | None = None
    note: str = ""

    @classmethod
    def requested(cls, note: str = "an operator asked") -> HealTrigger:
        """A heal nobody's failure started."""
        return cls(HealCause.REQUESTED, note=note)

    def describe(self) -> str:
        """One line for the heal history."""
        if self.error is not None:
            return str(self.error)

        return f"{self.cause}: {self.note}"


def heal_trigger(error: WardenError) -> Result[HealTrigger, WardenError]:
    """
    Tell whether replacing the sandbox can fix ``error``.

    A refusal keeps the error's kind and reason, says why no heal, and
    keeps the original message as its detail.
    """
    match _eligibility(error):
        case HealCause() as cause:
            return Success(HealTrigger(cause, error))
        case str() as why:
            return Failure(
                WardenError(
                    error.kind,
                    f"not healed: {why}",
                    error.reason,
                    error.message,
                ),
            )


def _eligibility(error: WardenError) -> HealCause | str:
    kind = error.kind
    match kind:
        case ErrorKind.SANDBOX_UNAVAILABLE:
            return _unavailable_eligibility(error.reason)
        case ErrorKind.AUTH:
            return HealCause.LOGIN
        case ErrorKind.TIMEOUT:
            return HealCause.TIMEOUT
        case ErrorKind.STALLED:
            return HealCause.STALLED
        case ErrorKind.WORKSPACE_MISMATCH:
            return HealCause.WORKSPACE_MISMATCH
        case ErrorKind.PARITY_MISMATCH:
            return HealCause.PARITY_MISMATCH
        case ErrorKind.BILLING_GUARD:
            return (
                "the API key comes from the environment or settings the "
                "sandbox is given, and a new sandbox would bill the same "
                "way; remove the key or log in with a subscription"
            )
        case ErrorKind.USAGE_LIMIT:
            return (
                "the usage limit belongs to the account, which every "
                "sandbox shares; wait for it to reset"
            )
        case ErrorKind.API_ERROR:
            return (
                "the Claude API failed, and a new sandbox calls the same "
                "API; retry later"
            )
        case ErrorKind.SESSION_NOT_FOUND:
            return "a lost session is replaced by a new conversation"
        case ErrorKind.MAX_TURNS | ErrorKind.MAX_BUDGET:
            return "the run reached a limit its caller set"
        case ErrorKind.EXECUTION_ERROR:
            return "Claude reported an error in the task itself"
        case ErrorKind.TRUNCATED:
            return (
                "a cut-off answer is retried, not healed; a broken "
                "sandbox shows at the next probe"
            )
        case ErrorKind.CANCELLED:
            return "the caller cancelled the run"
        case ErrorKind.BREAKER_OPEN:
            return "healing is paused by the circuit breaker"
        case ErrorKind.DESKTOP_REQUIRED:
            return (
                "the operation needs Docker Desktop's image store; start "
                "Docker Desktop"
            )
        case ErrorKind.UNSUPPORTED | ErrorKind.UNSUPPORTED_OPTION:
            return "the sandbox tool lacks this; upgrade or reconfigure it"
        case (
            ErrorKind.NOT_FOUND
            | ErrorKind.ALREADY_EXISTS
            | ErrorKind.INVALID_INPUT
            | ErrorKind.STORAGE
            | ErrorKind.LOCKED
        ):
            return "the failure is not in the sandbox"
        case ErrorKind.UNKNOWN:
            return "an unrecognised failure is reported, not healed blindly"
        case _:
            assert_never(kind)


def _unavailable_eligibility(
    reason: UnavailableReason | None,
) -> HealCause | str:
    match reason:
        case UnavailableReason.PLUGIN_MISSING | UnavailableReason.TOOL_MISSING:
            return (
                "the sandbox tool itself is missing, and no sandbox can "
                "be created without it; install it"
            )
        case UnavailableReason.FEATURE_DISABLED:
            return (
                "sandboxes are disabled in Docker Desktop's settings; "
                "enable them"
            )
        case (
            UnavailableReason.DAEMON_DOWN
            | UnavailableReason.NOT_FOUND
            | UnavailableReason.NOT_RUNNING
            | UnavailableReason.WEDGED
            | UnavailableReason.PROBE_FAILED
            | UnavailableReason.CREATE_FAILED
            | None
        ):
            return HealCause.UNAVAILABLE
        case _:
            assert_never(reason)
