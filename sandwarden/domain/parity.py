"""
Parity: whether the host and the sandbox see the same commit.

The answer has four values, and only drift is a failure: a workspace
that is not a git repository has no parity to check, and a side that
could not be asked leaves the answer unknown, with why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum, unique

from sandwarden.domain.errors import ErrorKind, WardenError

__all__ = ["Parity", "ParityVerdict", "as_error", "compare_heads"]

# SHA-1 ids are 40 hex digits, SHA-256 ids 64; `git rev-parse --short`
# prints at least 4, and 7 is git's usual abbreviation.
_COMMIT = re.compile(r"[0-9a-f]{4,64}")
_SHORT = 7


@unique
class ParityVerdict(StrEnum):
    """How the host's HEAD compares with the sandbox's."""

    EQUAL = "equal"
    DRIFT = "drift"
    NOT_A_REPOSITORY = "not_a_repository"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Parity:
    """The comparison, with both commits as read and why, in words."""

    verdict: ParityVerdict
    host: str | None
    sandbox: str | None
    why: str


def compare_heads(
    host: str | None,
    sandbox: str | None,
    *,
    host_error: WardenError | None = None,
    sandbox_error: WardenError | None = None,
) -> Parity:
    """
    Compare HEAD on both sides; None means "not a git repository".

    An abbreviated id of at least 7 digits equals a full one it starts;
    an empty or garbled id is unknown, not drift; a repository on one
    side only is drift (the workspace is mounted wrongly or is another
    directory).
    """
    if host_error is not None or sandbox_error is not None:
        return Parity(
            ParityVerdict.UNKNOWN,
            host,
            sandbox,
            _unasked(host_error, sandbox_error),
        )
    host, sandbox = _normal(host), _normal(sandbox)
    for side, commit in (("host", host), ("sandbox", sandbox)):
        if commit is not None and not _COMMIT.fullmatch(commit):
            return Parity(
                ParityVerdict.UNKNOWN,
                host,
                sandbox,
                f"the {side} HEAD {commit!r} is not a commit id",
            )

    if host is None and sandbox is None:
        return Parity(
            ParityVerdict.NOT_A_REPOSITORY,
            None,
            None,
            "the workspace is not a git repository",
        )
    if host is None or sandbox is None:
        return Parity(
            ParityVerdict.DRIFT,
            host,
            sandbox,
            "only the "
            + ("host" if sandbox is None else "sandbox")
            + " sees a git repository at the workspace",
        )
    if _same(host, sandbox):
        return Parity(ParityVerdict.EQUAL, host, sandbox, "same commit")

    return Parity(
        ParityVerdict.DRIFT,
        host,
        sandbox,
        f"host HEAD {host[:_SHORT]} differs from sandbox HEAD "
        f"{sandbox[:_SHORT]}",
    )


def as_error(parity: Parity) -> WardenError | None:
    """The ``parity_mismatch`` error for drift; None for anything else."""
    if parity.verdict is not ParityVerdict.DRIFT:
        return None

    return WardenError(
        ErrorKind.PARITY_MISMATCH,
        f"{parity.why}; the sandbox works on other code than the host "
        "(a pull it has not seen, a wrong mount, another clone)",
        detail=f"host={parity.host or 'none'} "
        f"sandbox={parity.sandbox or 'none'}",
    )


def _same(host: str, sandbox: str) -> bool:
    if host == sandbox:
        return True
    if min(len(host), len(sandbox)) < _SHORT:
        return False

    return host.startswith(sandbox) or sandbox.startswith(host)


def _normal(commit: str | None) -> str | None:
    if commit is None:
        return None

    return commit.strip().lower()


def _unasked(
    host_error: WardenError | None,
    sandbox_error: WardenError | None,
) -> str:
    parts = [
        f"the {side} HEAD could not be read ({error})"
        for side, error in (("host", host_error), ("sandbox", sandbox_error))
        if error is not None
    ]

    return "; ".join(parts)
