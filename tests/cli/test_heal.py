from __future__ import annotations

from pathlib import Path

import pytest

from sandwarden.simulator.world import World
from tests.cli.warden_cli import change_world, isolate, run_json, sandwarden

REPORT_KEYS = {
    "ok",
    "outcome",
    "sandbox",
    "usable",
    "swapped",
    "by_other_process",
    "summary",
    "steps",
}


@pytest.fixture(autouse=True)
def workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path)


def test_heal_prints_each_step_and_the_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = sandwarden("heal")

    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("1. reuse heal sandbox sandwarden-heal")
    assert "healed: sandwarden-heal probes healthy" in out


def test_heal_json_reports_the_swap(
    capsys: pytest.CaptureFixture[str],
) -> None:
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
