from __future__ import annotations

from pathlib import Path

import pytest

from sandwarden.simulator.world import LoginMethod, World
from tests.cli.warden_cli import change_world, isolate, run_json, sandwarden


@pytest.fixture(autouse=True)
def workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path)


def test_template_list_says_which_tags_exist(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, listed = run_json(capsys, "template", "list")

    assert code == 0
    assert listed["templates"] == [
        {"tag": "sandwarden-auth:latest", "present": True},
        {"tag": "sandwarden-auth:prev", "present": False},
    ]


def test_template_save_keeps_the_previous_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, saved = run_json(capsys, "template", "save")

    assert code == 0
    assert set(saved) == {
        "ok",
        "sandbox",
        "template",
        "previous",
        "copied_by",
        "steps",
    }
    assert saved["template"] == "sandwarden-auth:latest"
    assert saved["previous"] == "sandwarden-auth:prev"
    assert saved["copied_by"] == "tag"


def test_saving_a_logged_out_sandbox_is_refused_for_a_human(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def log_out(world: World) -> None:
        world.sandboxes["sandwarden"].login.method = LoginMethod.NONE

    change_world(monkeypatch, log_out)

    code = sandwarden("template", "save")

    assert code == 3
    assert "not saving sandbox 'sandwarden'" in capsys.readouterr().err


def test_rollback_without_a_previous_template_is_not_found(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, answer = run_json(capsys, "template", "rollback")

    assert code == 4
    assert answer["error"]["kind"] == "not_found"


def test_templates_need_the_image_store(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def stop_store(world: World) -> None:
        world.image_store_up = False

    change_world(monkeypatch, stop_store)

    code, answer = run_json(capsys, "template", "list")

    assert code == 4
    assert answer["error"]["kind"] == "desktop_required"
