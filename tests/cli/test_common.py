from __future__ import annotations

import io
import logging
import sys
from pathlib import Path

import pytest

from sandwarden.cli.common import exit_code, logging_to_stderr
from sandwarden.domain.errors import ErrorKind
from sandwarden.settings import LogLevel
from sandwarden.simulator.world import Login, LoginMethod, World
from tests.cli.warden_cli import change_world, isolate, sandwarden


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


def test_a_login_needed_alert_is_printed_once(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    isolate(monkeypatch, tmp_path)

    def logged_out_without_template(world: World) -> None:
        world.sandboxes["sandwarden"].login = Login(LoginMethod.NONE)
        world.tags.clear()

    change_world(monkeypatch, logged_out_without_template)

    code = sandwarden("ask", "hello")

    err = capsys.readouterr().err
    assert code == exit_code(ErrorKind.AUTH)
    paged = [
        line for line in err.splitlines() if "is not logged in, and" in line
    ]
    assert len(paged) == 1
    assert "login_needed" in paged[0]
