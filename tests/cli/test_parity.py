from __future__ import annotations

from pathlib import Path

import pytest

from sandwarden.simulator.world import World
from tests.cli.warden_cli import change_world, isolate, run_json, sandwarden


@pytest.fixture(autouse=True)
def workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path)


def test_equal_heads_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, answer = run_json(capsys, "parity")

    assert code == 0
    assert set(answer["parity"]) == {"verdict", "host", "sandbox", "why"}
    assert answer["parity"]["verdict"] == "equal"


def test_drift_exits_four_with_both_heads(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    workspace: Path,
) -> None:
    def drift(world: World) -> None:
        world.sandboxes["sandwarden"].heads[str(workspace)] = "a" * 40

    change_world(monkeypatch, drift)

    code, answer = run_json(capsys, "parity")

    assert code == 4
    assert answer["ok"] is False
    assert answer["error"]["kind"] == "parity_mismatch"
    assert answer["parity"]["sandbox"] == "a" * 40


def test_a_workspace_outside_git_is_not_a_failure(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    workspace: Path,
) -> None:
    def no_repository(world: World) -> None:
        world.host_heads[str(workspace)] = None
        world.sandboxes["sandwarden"].heads[str(workspace)] = None

    change_world(monkeypatch, no_repository)

    code = sandwarden("parity")

    assert code == 0
    assert "not_a_repository" in capsys.readouterr().out
