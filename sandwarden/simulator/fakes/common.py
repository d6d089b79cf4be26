"""
What every fake command line shares: writing, failing, hanging.

A command raises ``ToolError`` with the exact text and status the real tool
gives; ``run_entry`` prints it on stderr with the tool's prefix.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable

from sandwarden.simulator.fakes.state import StateFile, StateFileError

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
