"""
The domain's readers of tool output, as the simulator calls them.

The simulated runtime prints the real tools' texts and lets the domain
read them, exactly as the real adapters do: ``classify`` for failures,
``parse_auth_status`` for `claude auth status`. This module is the one
place where the simulator calls them, taking bytes as the runtime has
them.
"""

from __future__ import annotations

from returns.result import Result

from sandwarden.domain import auth
from sandwarden.domain import classify as classifier
from sandwarden.domain.auth import AuthStatus
from sandwarden.domain.classify import Context
from sandwarden.domain.errors import WardenError

__all__ = ["Context", "classify", "parse_auth_status"]


def classify(
    exit_code: int | None,
    stdout: bytes,
    stderr: bytes,
    context: Context,
) -> Result[None, WardenError]:
    """Read a command's outputs with the domain's ``classify``."""
    return classifier.classify(exit_code, stdout, stderr, context)


def parse_auth_status(
    stdout: bytes,
    stderr: bytes,
    exit_code: int,
) -> Result[AuthStatus, WardenError]:
    """Read `claude auth status` output with the domain's parser."""
    return auth.parse_auth_status(
        stdout.decode("utf-8", "replace"),
        stderr.decode("utf-8", "replace"),
        exit_code,
    )
