from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandwarden.cli import main
from sandwarden.domain.values import SandboxName
from sandwarden.service.heal import Healer
from sandwarden.simulator.world import LoginMethod, World
from tests.cli.warden_cli import change_world, isolate, sandwarden


@pytest.fixture(autouse=True)
def workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path)


def test_watch_prints_each_probe_as_it_happens(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = sandwarden("watch", "--checks", "2")

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines == [
        "2026-01-01T00:00:00Z  probe: sandwarden is healthy",
        "2026-01-01T00:05:00Z  probe: sandwarden is healthy",
        "stopped after 2 check(s)",
    ]


def test_watch_json_prints_one_object_per_note_then_the_count(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def log_out(world: World) -> None:
        world.sandboxes["sandwarden"].login.method = LoginMethod.NONE

    change_world(monkeypatch, log_out)

    code = sandwarden("watch", "--checks", "1", "--json")

    objects = [
        json.loads(line)
        for line in capsys.readouterr().out.split("\n")
        if line
    ]
    topics = [note["topic"] for note in objects[:-1]]
    assert code == 0
    assert set(objects[0]) == {"at", "topic", "message", "data"}
    assert topics[0] == "probe"
    assert "heal" in topics
    assert "swap" in topics
    assert objects[-1] == {"ok": True, "checks": 1, "enabled": True}


def test_a_disabled_watchdog_does_not_watch(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = sandwarden(
        "watch",
        "--checks",
        "1",
        "--json",
        "--set",
        "watchdog_enabled=false",
    )

    captured = capsys.readouterr()
    assert code == 0
    assert json.loads(captured.out)["enabled"] is False
    assert "the watchdog is disabled" in captured.err


def test_a_check_count_below_one_is_bad_usage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stopped:
        sandwarden("watch", "--checks", "0")

    assert stopped.value.code == 2
    assert "expected a whole number of checks" in capsys.readouterr().err


def test_watch_help_says_its_json_is_json_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["watch", "--help"])

    said = " ".join(capsys.readouterr().out.split())
    assert "JSON Lines" in said
    assert "print one JSON object" not in said


def test_watch_names_the_sandbox_it_probes_after_a_swap(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The rehearsal store lives for one run only: stand for a swap that
    # an earlier run made by answering the active sandbox's name.
    async def swapped(self: Healer) -> SandboxName:
        return SandboxName("sandwarden-heal")

    monkeypatch.setattr(Healer, "active", swapped)

    sandwarden("watch", "--checks", "1")

    assert "watching sandwarden-heal every" in capsys.readouterr().err
