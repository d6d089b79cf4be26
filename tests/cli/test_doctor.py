from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandwarden.simulator.fakes import FakeTools
from sandwarden.simulator.world import World
from tests.cli.warden_cli import (
    change_world,
    isolate,
    real_environment,
    run_json,
    sandwarden,
    sandwarden_process,
)


@pytest.fixture(autouse=True)
def workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path)


def test_doctor_with_only_warnings_exits_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = sandwarden("doctor")

    out = capsys.readouterr().out
    assert code == 0
    assert "[ok  ] login:" in out
    assert "verdict: warn" in out


def test_doctor_json_lists_every_finding(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = run_json(capsys, "doctor")

    checks = [finding["check"] for finding in report["findings"]]
    assert code == 0
    assert report["ok"] is True
    assert report["status"] == "warn"
    assert checks[:3] == ["tool", "daemon", "image_store"]
    assert set(report["findings"][0]) == {
        "check",
        "status",
        "summary",
        "fix",
        "detail",
    }


def test_doctor_with_the_daemon_down_fails_and_says_the_fix(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def stop_daemon(world: World) -> None:
        world.daemon_up = False

    change_world(monkeypatch, stop_daemon)

    code, report = run_json(capsys, "doctor")

    daemon = next(f for f in report["findings"] if f["check"] == "daemon")
    assert code == 1
    assert report["ok"] is False
    assert daemon["status"] == "fail"
    assert daemon["fix"]


def test_doctor_against_a_missing_plugin_fails_in_a_real_process(
    tmp_path: Path,
    workspace: Path,
) -> None:
    tools = FakeTools(tmp_path / "fakes", time_scale=0.01)
    tools.add_sandbox("sandwarden", workspace)
    tools.set_plugin(present=False)
    environment = real_environment(tools, tmp_path)

    done = sandwarden_process(environment, workspace, "doctor", "--json")

    report = json.loads(done.stdout)
    tool = report["findings"][0]
    assert done.returncode == 1
    assert tool["check"] == "tool"
    assert tool["status"] == "fail"
