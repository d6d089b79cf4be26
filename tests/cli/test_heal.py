from __future__ import annotations

from pathlib import Path

import pytest

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

REPORT_KEYS = {
    "ok",
    "outcome",
    "sandbox",
    "usable",
    "swapped",
    "by_other_process",
    "summary",
    "steps",
    "login_action",
}


@pytest.fixture(autouse=True)
def workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path)


def log_out_primary(world: World) -> None:
    world.sandboxes["sandwarden"].login.method = LoginMethod.NONE


def test_heal_of_a_healthy_sandbox_leaves_it_alone(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = sandwarden("heal")
    out = capsys.readouterr().out
    json_code, report = run_json(capsys, "heal", "--force")

    assert code == json_code == 0
    assert out == "sandwarden is healthy; nothing to heal\n"
    assert report["outcome"] is None
    assert report["usable"] is True
    assert report["swapped"] is False
    assert report["steps"] == []


def test_heal_prints_each_step_and_the_summary(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    change_world(monkeypatch, log_out_primary)

    code = sandwarden("heal")

    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(
        "1. reuse heal sandbox sandwarden-heal: not there yet\n",
    )
    assert "healed: sandwarden-heal probes healthy" in out


def test_heal_json_reports_the_swap(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    change_world(monkeypatch, log_out_primary)

    code, report = run_json(capsys, "heal")

    assert code == 0
    assert set(report) == REPORT_KEYS
    assert report["outcome"] == "healed"
    assert report["sandbox"] == "sandwarden-heal"
    assert report["swapped"] is True


def test_a_heal_that_finds_nothing_usable_exits_four(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def stop_daemon(world: World) -> None:
        world.daemon_up = False

    change_world(monkeypatch, stop_daemon)

    code, report = run_json(capsys, "heal")

    assert code == 4
    assert report["ok"] is False
    assert report["usable"] is False
    assert report["outcome"] == "failed"


def test_a_heal_that_needs_a_login_names_the_login_command(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def no_template_no_login(world: World) -> None:
        world.tags.clear()
        world.sandboxes["sandwarden"].login.method = LoginMethod.NONE

    change_world(monkeypatch, no_template_no_login)

    code = sandwarden("heal")
    out = capsys.readouterr().out
    json_code, report = run_json(capsys, "heal")

    assert code == json_code == 3
    assert "to log in: log in once: `docker sandbox exec -it " in out
    assert report["outcome"] == "needs_login"
    # the primary only lacks a login: nothing is created, it is named
    assert report["sandbox"] == "sandwarden"
    assert "-it sandwarden claude`" in report["login_action"]
    assert report["login_action"] in out


def test_an_open_breaker_refuses_the_heal_until_forced(
    tmp_path: Path,
    workspace: Path,
) -> None:
    tools = FakeTools(tmp_path / "fakes", time_scale=0.01)
    tools.add_sandbox("sandwarden", workspace, logged_in=False)
    environment = real_environment(tools, tmp_path)
    environment["SANDBOX_SELF_HEAL_MAX_ATTEMPTS"] = "1"

    # No template: the heal ends on the primary awaiting a login, a
    # failed heal, and one opens the breaker.
    first = sandwarden_process(environment, workspace, "heal")
    refused = sandwarden_process(environment, workspace, "heal")
    tools.add_sandbox("spare", workspace)
    forced = sandwarden_process(environment, workspace, "heal", "--force")

    assert first.returncode == 3, first.stderr
    assert refused.returncode == 6, refused.stderr
    assert "next trial at " in refused.stderr
    assert "`sandwarden heal --force`" in refused.stderr
    assert refused.stdout == ""
    assert "to log in: " in first.stdout
    # forced, it runs: it adopts the logged-in spare, and that success
    # closes the breaker
    assert forced.returncode == 0, forced.stderr
    assert "healed: spare probes healthy" in forced.stdout
    assert "breaker closed" in forced.stderr
