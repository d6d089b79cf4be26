from __future__ import annotations

import io
from pathlib import Path

import pytest

from sandwarden.cli.common import Output, progress_meter
from sandwarden.simulator.world import World
from tests.cli.warden_cli import change_world, isolate, run_json, sandwarden


@pytest.fixture(autouse=True)
def workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path)


def test_backup_create_writes_a_verified_tar(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, made = run_json(capsys, "backup", "create")

    assert code == 0
    assert set(made) == {
        "ok",
        "path",
        "link",
        "template",
        "size",
        "sha256",
        "created_at",
        "tool",
        "saved",
        "pruned",
        "method",
    }
    assert made["method"] == "export"
    assert made["path"].endswith(".tar")
    assert made["template"] == "sandwarden-auth:latest"
    assert len(made["sha256"]) == 64
    assert made["saved"] is None


def test_backup_create_save_saves_the_template_first(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, made = run_json(capsys, "backup", "create", "--save")

    assert code == 0
    assert made["saved"]["template"] == "sandwarden-auth:latest"


def test_backup_list_of_an_empty_directory_is_empty(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, listed = run_json(capsys, "backup", "list")

    assert code == 0
    assert listed == {"ok": True, "backups": []}


def test_backup_prune_reports_what_it_kept(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, pruned = run_json(capsys, "backup", "prune")

    assert code == 0
    assert pruned == {"ok": True, "kept": [], "deleted": []}


def test_a_backup_needs_the_image_store(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def stop_store(world: World) -> None:
        world.image_store_up = False

    change_world(monkeypatch, stop_store)

    code = sandwarden("backup", "create")

    assert code == 4
    assert "sandwarden: desktop_required: " in capsys.readouterr().err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_the_export_progress_on_one_redrawn_line() -> None:
    err = Terminal()
    output = Output(json=False, out=io.StringIO(), err=err)
    meter = progress_meter("exporting", output)
    assert meter is not None

    meter(512 * 1024, 2 * 1024 * 1024)
    meter(2 * 1024 * 1024, 2 * 1024 * 1024)
    meter.finish()

    shown = err.getvalue()
    assert shown.count("\r") == 2
    assert "exporting: 512.0 KiB of 2.0 MiB (25%)" in shown
    assert shown.endswith("(100%)\n")


def test_no_meter_without_a_terminal_or_under_json() -> None:
    plain = Output(json=False, out=io.StringIO(), err=io.StringIO())
    scripted = Output(json=True, out=io.StringIO(), err=Terminal())

    assert progress_meter("exporting", plain) is None
    assert progress_meter("exporting", scripted) is None
