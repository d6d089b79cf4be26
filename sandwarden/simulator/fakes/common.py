"""
What every fake command line shares: writing, failing, hanging.

A command raises ``ToolError`` with the exact text and status the real tool
gives; ``run_entry`` prints it on stderr with the tool's prefix.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable

from sandwarden.simulator.fakes.state import (
    LATENCY_ENV,
    StateFile,
    StateFileError,
)

__all__ = ["ToolError", "err", "hang", "out", "run_entry"]


class ToolError(Exception):
    """The command fails with ``text`` on stderr and status ``code``."""

    def __init__(self, text: str, code: int = 1) -> None:
        super().__init__(text)
        self.text = text
        self.code = code


def out(text: str) -> None:
    """Write ``text`` to stdout now."""
    sys.stdout.write(text)
    sys.stdout.flush()


def err(text: str) -> None:
    """Write ``text`` to stderr now."""
    sys.stderr.write(text)
    sys.stderr.flush()


def hang() -> None:
    """Wait for ever, as a command talking to a wedged daemon does."""
    while True:
        signal.pause()


def run_entry(
    body: Callable[[StateFile], int],
    prefix: str = "",
) -> int:
    """Run ``body`` on the state file from the environment; report."""
    try:
        state_file = StateFile.from_environment()
        time.sleep(_latency())
        return body(state_file)
    except ToolError as failure:
        text = (
            failure.text
            if failure.text.endswith("\n")
            else failure.text + "\n"
        )
        err(prefix + text if failure.text else "")
        return failure.code
    except StateFileError as error:
        err(f"{prefix}{error}\n")
        return 1


def _latency() -> float:
    """The emulated wait of a real tool call, from the environment."""
    raw = os.environ.get(LATENCY_ENV, "")
    try:
        latency = float(raw) if raw else 0.0
    except ValueError:
        latency = -1.0
    if not 0 <= latency < float("inf"):
        msg = f"{LATENCY_ENV}={raw!r}; expected seconds, a number >= 0"
        raise StateFileError(msg)

    return latency
