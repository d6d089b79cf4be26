from __future__ import annotations

from pathlib import Path

import pytest

from sandwarden.cli import main
from sandwarden.cli.common import EXIT_CODES_HELP, Exit, exit_code
from sandwarden.domain.errors import ErrorKind
from sandwarden.simulator.world import World
from sandwarden.warden import Warden
from tests.cli.warden_cli import change_world, isolate, run_json, sandwarden

# The documented table (README, --help); a change here is a change of API.
DOCUMENTED = {
    0: set(),
    1: {
        "session_not_found",
        "max_turns",
        "max_budget",
        "execution_error",
        "already_exists",
        "storage",
        "locked",
        "unknown",
    },
    2: {"invalid_input", "unsupported_option", "unsupported"},
    3: {"auth", "billing_guard"},
    4: {
        "sandbox_unavailable",
        "desktop_required",
        "workspace_mismatch",
        "parity_mismatch",
        "not_found",
    },
    5: {"timeout", "stalled", "cancelled", "truncated"},
    6: {"breaker_open"},
    7: {"usage_limit", "api_error"},
}

WARDEN_COMMANDS = (
    ("login",),
    ("ask", "hi"),
    ("status",),
    ("doctor",),
    ("heal",),
    ("watch", "--checks", "1"),
    ("template", "save"),
    ("template", "rollback"),
    ("template", "list"),
    ("backup", "create"),
    ("backup", "list"),
    ("backup", "prune"),
    ("restore",),
    ("parity",),
)


@pytest.fixture(autouse=True)
def workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path)


def test_every_error_kind_has_its_documented_exit_code() -> None:
    table = {code: set[str]() for code in DOCUMENTED}

    for kind in ErrorKind:
        table[int(exit_code(kind))].add(str(kind))

    assert table == DOCUMENTED
    assert sorted(DOCUMENTED) == [int(code) for code in Exit]


def test_the_top_level_help_shows_the_exit_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])

    out = capsys.readouterr().out
    assert done.value.code == 0
    assert EXIT_CODES_HELP in out
    assert "breaker_open" in out


@pytest.mark.parametrize("command", WARDEN_COMMANDS)
def test_each_command_documents_the_exit_codes_in_its_help(
    capsys: pytest.CaptureFixture[str],
    command: tuple[str, ...],
) -> None:
    words = [word for word in command if not word.startswith("-")][:2]
    if words[0] == "ask" or words[0] == "watch":
        words = words[:1]

    with pytest.raises(SystemExit):
        main([*words, "--help"])

    assert "exit codes:" in capsys.readouterr().out


@pytest.mark.parametrize("command", WARDEN_COMMANDS)
def test_a_bad_setting_is_bad_usage_for_every_command(
    capsys: pytest.CaptureFixture[str],
    command: tuple[str, ...],
) -> None:
    code, answer = run_json(capsys, *command, "--set", "backup_keep=many")

    assert code == 2
    assert answer["ok"] is False
    assert answer["error"]["kind"] == "invalid_input"
    assert "backup_keep" in answer["error"]["message"]


def test_an_interrupted_command_exits_as_cancelled(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Warden, "ask", interrupted)

    code = sandwarden("ask", "hi")

    assert code == 5
    assert "sandwarden: cancelled: interrupted" in capsys.readouterr().err


def test_an_error_line_names_the_kind_and_reason(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def remove(world: World) -> None:
        del world.sandboxes["sandwarden"]

    change_world(monkeypatch, remove)

    code = sandwarden("ask", "hi", "--no-self-heal")

    err = capsys.readouterr().err
    assert code == 4
    assert (
        "sandwarden: sandbox_unavailable (not_found): sandbox 'sandwarden' "
        "does not exist" in err
    )
