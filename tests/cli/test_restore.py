from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandwarden.simulator.fakes import FakeTools
from tests.cli.warden_cli import (
    isolate,
    real_environment,
    run_json,
    sandwarden_process,
)


@pytest.fixture(autouse=True)
def workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path)


def test_restore_without_any_backup_is_not_found(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, answer = run_json(capsys, "restore")

    assert code == 4
    assert answer["error"]["kind"] == "not_found"
    assert "sandwarden backup create" in answer["error"]["message"]


def test_restore_of_a_missing_file_names_it(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nowhere.tar"

    code, answer = run_json(capsys, "restore", str(missing))

    assert code == 4
    assert answer["ok"] is False
    assert str(missing) in answer["error"]["message"]


def test_backup_then_restore_rebuilds_the_sandbox_with_real_processes(
    tmp_path: Path,
    workspace: Path,
) -> None:
    tools = FakeTools(tmp_path / "fakes", time_scale=0.01)
    tools.add_sandbox("sandwarden", workspace)
    environment = real_environment(tools, tmp_path)
    made = sandwarden_process(
        environment, workspace, "backup", "create", "--save"
    )
    tools.log_out("sandwarden")

    done = sandwarden_process(environment, workspace, "restore", "--json")

    restored = json.loads(done.stdout)
    assert made.returncode == 0, made.stderr
    assert done.returncode == 0, done.stderr
    assert restored["verified"] is True
    assert restored["replaced"] is True
    assert restored["sandbox"] == "sandwarden"
    assert set(restored) == {
        "ok",
        "backup",
        "verified",
        "template",
        "loaded",
        "sandbox",
        "replaced",
        "steps",
    }


def test_a_named_backup_file_restores_with_real_processes(
    tmp_path: Path,
    workspace: Path,
) -> None:
    tools = FakeTools(tmp_path / "fakes", time_scale=0.01)
    tools.add_sandbox("sandwarden", workspace)
    environment = real_environment(tools, tmp_path)
    made = sandwarden_process(
        environment, workspace, "backup", "create", "--save", "--json"
    )
    path = json.loads(made.stdout)["path"]
    tools.log_out("sandwarden")

    done = sandwarden_process(
        environment, workspace, "restore", path, "--json"
    )

    assert made.returncode == 0, made.stderr
    assert not path.endswith("_latest.tar")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["backup"] == path


def test_a_missing_named_file_is_not_found_with_real_processes(
    tmp_path: Path,
    workspace: Path,
) -> None:
    tools = FakeTools(tmp_path / "fakes", time_scale=0.01)
    tools.add_sandbox("sandwarden", workspace)
    environment = real_environment(tools, tmp_path)
    missing = str(tmp_path / "nope.tar")

    done = sandwarden_process(
        environment, workspace, "restore", missing, "--json"
    )

    error = json.loads(done.stdout)["error"]
    assert done.returncode == 4, done.stderr
    assert error["kind"] == "not_found"
    assert missing in error["message"]
