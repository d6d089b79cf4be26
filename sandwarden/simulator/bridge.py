"""
The domain's readers of tool output, as the simulator calls them.

The simulated runtime prints the real tools' texts and lets the domain
read them, exactly as the real adapters do: ``classify`` for failures,
``parse_auth_status`` for `claude auth status`. Both are imported here,
in one place, with a minimal stand-in used only while the domain module
is absent from the tree.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from enum import StrEnum, unique
from typing import Any, cast

from returns.result import Failure, Result, Success

from sandwarden.domain.auth import AuthStatus
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError

__all__ = ["Context", "classify", "parse_auth_status"]


@unique
class Context(StrEnum):
    """What was being done; mirrors ``sandwarden.domain.classify.Context``."""

    PROBE = "probe"
    PROMPT = "prompt"
    RESUME = "resume"
    TOOL = "tool"
    IMAGE = "image"


def classify(
    exit_code: int | None,
    stdout: bytes,
    stderr: bytes,
    context: Context,
) -> Result[None, WardenError]:
    """Read a command's outputs with the domain's ``classify``."""
    module = _domain("sandwarden.domain.classify")
    if module is None:
        return _classify_stand_in(exit_code, stderr, context)
    real_context = module.Context[context.name]
    reader = cast(
        "Callable[..., Result[None, WardenError]]",
        module.classify,
    )

    return reader(exit_code, stdout, stderr, real_context)


def parse_auth_status(
    stdout: bytes,
    stderr: bytes,
    exit_code: int,
) -> Result[AuthStatus, WardenError]:
    """Read `claude auth status` output with the domain's parser."""
    text_out = stdout.decode("utf-8", "replace")
    text_err = stderr.decode("utf-8", "replace")
    module = _domain("sandwarden.domain.auth")
    parser = getattr(module, "parse_auth_status", None)
    if parser is None:
        return _parse_stand_in(text_out, text_err)

    return cast(
        "Result[AuthStatus, WardenError]",
        parser(text_out, text_err, exit_code),
    )


def _domain(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# TODO: replace with sandwarden.domain.classify.classify when it lands.
def _classify_stand_in(
    exit_code: int | None,
    stderr: bytes,
    context: Context,
) -> Result[None, WardenError]:
    text = stderr.decode("utf-8", "replace").lower()
    detail = text.strip()
    if exit_code == 0:
        return Success(None)
    if "cannot connect to the docker daemon" in text or "daemon" in text:
        if context is Context.IMAGE:
            return Failure(
                WardenError(
                    ErrorKind.DESKTOP_REQUIRED,
                    "the image store is down",
                    detail=detail,
                ),
            )
        reason = UnavailableReason.DAEMON_DOWN
    elif "unknown command" in text or "command not found" in text:
        reason = UnavailableReason.PLUGIN_MISSING
    elif "no sandbox" in text or "not found" in text:
        reason = UnavailableReason.NOT_FOUND
    else:
        reason = UnavailableReason.PROBE_FAILED

    return Failure(WardenError.unavailable(reason, "sandbox failed", detail))


# TODO: replace with sandwarden.domain.auth.parse_auth_status when it lands.
def _parse_stand_in(
    stdout: str, stderr: str
) -> Result[AuthStatus, WardenError]:
    try:
        document = json.loads(stdout)
    except ValueError:
        document = None
    if isinstance(document, dict) and "loggedIn" in document:
        return Success(
            AuthStatus(
                logged_in=bool(document["loggedIn"]),
                auth_method=document.get("authMethod"),
                api_provider=document.get("apiProvider"),
            ),
        )
    if "unknown option" in stdout + stderr:
        return Failure(
            WardenError(
                ErrorKind.UNSUPPORTED_OPTION, "no --json", detail=stderr
            )
        )
    if "Login method:" in stdout:
        return Success(AuthStatus(logged_in=True))
    if "Not logged in" in stdout + stderr:
        return Success(AuthStatus(logged_in=False))

    return Failure(WardenError(ErrorKind.UNKNOWN, "unreadable", detail=stdout))
