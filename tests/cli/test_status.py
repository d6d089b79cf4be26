from __future__ import annotations

from pathlib import Path

import pytest

from sandwarden.cli.status import heal_json
from sandwarden.domain.healing import HealRecord
from sandwarden.simulator.fakes import FakeTools
from sandwarden.simulator.world import LoginMethod, World
from tests.cli.warden_cli import (
    change_world,
    isolate,
    real_environment,
    run_json,
    sandwarden,
    sandwarden_process,
)

STATUS_KEYS = {"ok", "configured", "active", "swapped", "breaker", "heals"}


@pytest.fixture(autouse=True)
def workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path)


def test_status_shows_the_sandbox_and_a_closed_breaker(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = sandwarden("status")

    out = capsys.readouterr().out
    assert code == 0
    assert "active:     sandwarden" in out
    assert "breaker:    closed, 0 failed heal(s)" in out


def test_status_json_has_the_breaker_and_heals(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, status = run_json(capsys, "status")

    assert code == 0
    assert set(status) == STATUS_KEYS
    assert status["active"] == status["configured"] == "sandwarden"
    assert set(status["breaker"]) == {"verdict", "failures", "retry_at", "why"}
    assert status["breaker"]["verdict"] == "closed"
    assert status["heals"] == []


def test_status_probe_adds_the_probe_answer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, status = run_json(capsys, "status", "--probe")

    assert code == 0
    assert set(status) == STATUS_KEYS | {"probe"}
    assert status["probe"]["logged_in"] is True
    assert status["probe"]["api_provider"] == "firstParty"


def test_status_probe_of_a_logged_out_sandbox_exits_three(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def log_out(world: World) -> None:
        world.sandboxes["sandwarden"].login.method = LoginMethod.NONE

    change_world(monkeypatch, log_out)

    code, status = run_json(capsys, "status", "--probe")

    assert code == 3
    assert status["ok"] is False
    assert status["probe"] is None
    assert status["error"]["kind"] == "auth"
    assert status["active"] == "sandwarden"


def test_status_against_the_fake_docker_remembers_the_last_heal(
    tmp_path: Path,
    workspace: Path,
) -> None:
    tools = FakeTools(tmp_path / "fakes", time_scale=0.01)
    # Logged out: a heal leaves a healthy sandbox alone.
    tools.add_sandbox("sandwarden", workspace, logged_in=False)
    environment = real_environment(tools, tmp_path)

    # No template: the heal keeps it, as it only needs a login.
    healed = sandwarden_process(environment, workspace, "heal")
    done = sandwarden_process(environment, workspace, "status", "--probe")

    assert healed.returncode == 3, healed.stderr
    assert done.returncode == 3
    assert "breaker:    closed, 1 failed heal(s)" in done.stdout
    assert ": failed, active sandwarden\n" in done.stdout
    assert "reuse heal sandbox sandwarden-heal: " in done.stdout
    assert "sandwarden: auth: " in done.stderr


def test_a_flapped_heal_is_shown_as_undone_in_the_status_json() -> None:
    record = HealRecord(0.0, 60.0, "auth: expired", True, "sandwarden-heal")

    held, flapped = heal_json(record), heal_json(record.undone(180.0))

    assert (held["flapped"], held["undone_at"]) == (False, None)
    assert flapped["succeeded"] is True
    assert flapped["flapped"] is True
    assert flapped["undone_at"] == "1970-01-01T00:03:00Z"
