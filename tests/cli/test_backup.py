from __future__ import annotations

import io
from pathlib import Path

import pytest

from sandwarden.cli.common import Output, progress_meter
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
    assert pruned == {"ok": True, "kept": [], "deleted": [], "files": []}


def test_backup_prune_counts_backups_kept_and_deleted_alike(
    tmp_path: Path,
    workspace: Path,
) -> None:
    tools = FakeTools(tmp_path / "fakes", time_scale=0.01)
    tools.add_sandbox("sandwarden", workspace)
    environment = real_environment(tools, tmp_path)
    for _ in range(3):
        made = sandwarden_process(
            environment, workspace, "backup", "create", "--save"
        )
        assert made.returncode == 0, made.stderr
    keep_one = {**environment, "SANDBOX_TEMPLATE_BACKUP_KEEP": "1"}

    human = sandwarden_process(keep_one, workspace, "backup", "prune")

    assert human.returncode == 0, human.stderr
    assert "kept 1 backup, deleted 2 backups (4 files)" in human.stdout
    assert human.stdout.count("deleted ") == 5


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
