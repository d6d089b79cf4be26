from __future__ import annotations

import io
import logging
import sys

import pytest

from sandwarden.cli.common import logging_to_stderr
from sandwarden.settings import LogLevel


def test_logging_follows_stderr_even_after_the_old_one_was_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a file, unlike a StringIO, refuses even a flush once closed
    first = io.TextIOWrapper(io.BytesIO())
    monkeypatch.setattr(sys, "stderr", first)
    second = io.StringIO()
    logger = logging.getLogger("sandwarden")

    with logging_to_stderr(LogLevel.INFO):
        logger.info("before the switch")
        first.close()
        monkeypatch.setattr(sys, "stderr", second)
        logger.info("after the switch")

    assert second.getvalue() == "sandwarden: info: after the switch\n"
