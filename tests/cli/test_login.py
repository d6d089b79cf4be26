from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from sandwarden.adapters.login import LoginSession, login_argv
from sandwarden.adapters.sqlite_store import SqliteStateStore
from sandwarden.domain.values import ImageTag, SandboxName, Workspace
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


@pytest.fixture
def tools(tmp_path: Path) -> FakeTools:
    return FakeTools(tmp_path / "fakes", time_scale=0.01)


def session(*, sbx: bool, image: ImageTag | None = None) -> LoginSession:
    return LoginSession(
        tool="sbx" if sbx else "docker",
        sbx=sbx,
        sandbox=SandboxName.parse("bot").unwrap(),
        workspace=Workspace.parse("/srv/bot").unwrap(),
        image=image,
    )


def test_the_plugin_login_runs_claude_by_name_over_the_workspace() -> None:
    argv = login_argv(session(sbx=False))

    assert argv == (
        "docker",
        "sandbox",
        "run",
        "--name",
        "bot",
        "claude",
        "/srv/bot",
    )


def test_the_sbx_login_names_an_image_when_asked() -> None:
    image = ImageTag.parse("base:1").unwrap()

    argv = login_argv(session(sbx=True, image=image))

    assert argv == (
        "sbx",
        "run",
        "--name",
        "bot",
        "-t",
        "base:1",
        "claude",
        "/srv/bot",
    )


def test_login_on_the_simulator_only_verifies(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, answer = run_json(capsys, "login")

    assert code == 0
    assert answer["auth"]["logged_in"] is True
    assert answer["tool_exit_code"] is None
    assert answer["next"] == [
        "sandwarden template save",
        "sandwarden backup create",
    ]


def test_login_refuses_without_a_terminal(
    tools: FakeTools,
    tmp_path: Path,
    workspace: Path,
) -> None:
    environment = real_environment(tools, tmp_path)

    done = sandwarden_process(environment, workspace, "login")

    assert done.returncode == 2
    assert "not a terminal" in done.stderr
    assert tools.sandboxes() == {}


def test_login_creates_the_sandbox_and_verifies_the_login(
    tools: FakeTools,
    tmp_path: Path,
    workspace: Path,
) -> None:
    environment = real_environment(tools, tmp_path)

    done = sandwarden_process(
        environment,
        workspace,
        "login",
        "--no-tty-check",
        "--json",
    )

    # The tool's own session printed first, on the same terminal.
    tool_text, brace, rest = done.stdout.partition("\n{")
    answer = json.loads(brace.strip() + rest)
    assert done.returncode == 0, done.stderr
    assert answer["tool_exit_code"] == 0
    assert answer["auth"]["logged_in"] is True
    assert "Creating new sandbox 'sandwarden'" in tool_text
    assert tools.sandboxes()["sandwarden"].workspaces == [str(workspace)]


def test_login_renews_the_login_of_an_existing_sandbox(
    tools: FakeTools,
    tmp_path: Path,
    workspace: Path,
) -> None:
    tools.add_sandbox("sandwarden", workspace, logged_in=False)
    environment = real_environment(tools, tmp_path)

    done = sandwarden_process(
        environment, workspace, "login", "--no-tty-check"
    )

    assert done.returncode == 0, done.stderr
    assert "healthy: sandwarden is logged in" in done.stdout


def test_login_without_the_plugin_exits_four(
    tools: FakeTools,
    tmp_path: Path,
    workspace: Path,
) -> None:
    tools.set_plugin(present=False)
    environment = real_environment(tools, tmp_path)

    done = sandwarden_process(
        environment, workspace, "login", "--no-tty-check"
    )

    assert done.returncode == 4
    assert "sandbox_unavailable (plugin_missing)" in done.stderr


def _swap_in_a_logged_out_heal_sandbox(
    tools: FakeTools, tmp_path: Path, workspace: Path
) -> dict[str, str]:
    tools.add_sandbox("sandwarden", workspace)
    tools.add_sandbox("sandwarden-heal", workspace, logged_in=False)
    environment = real_environment(tools, tmp_path)
    state = tmp_path / "state" / "sandwarden.sqlite3"
    store = SqliteStateStore.open(str(state)).unwrap()
    try:
        active = SandboxName("sandwarden-heal")
        asyncio.run(store.set_active_sandbox(active)).unwrap()
    finally:
        store.close()

    return environment


def test_login_of_the_configured_sandbox_names_the_active_heal_one(
    tools: FakeTools,
    tmp_path: Path,
    workspace: Path,
) -> None:
    environment = _swap_in_a_logged_out_heal_sandbox(
        tools, tmp_path, workspace
    )

    done = sandwarden_process(
        environment, workspace, "login", "--no-tty-check"
    )

    assert done.returncode == 0, done.stderr
    assert "healthy: sandwarden is logged in" in done.stdout
    assert "active sandbox sandwarden-heal" in done.stderr
    assert "`sandwarden login --sandbox sandwarden-heal`" in done.stderr


def test_the_hinted_login_makes_the_active_heal_sandbox_healthy(
    tools: FakeTools,
    tmp_path: Path,
    workspace: Path,
) -> None:
    environment = _swap_in_a_logged_out_heal_sandbox(
        tools, tmp_path, workspace
    )
    before = sandwarden_process(environment, workspace, "status", "--probe")

    hinted = sandwarden_process(
        environment,
        workspace,
        "login",
        "--no-tty-check",
        "--sandbox",
        "sandwarden-heal",
    )
    after = sandwarden_process(environment, workspace, "status", "--probe")

    assert before.returncode == 3
    assert "`sandwarden login --sandbox sandwarden-heal`" in before.stderr
    assert hinted.returncode == 0, hinted.stderr
    assert "healthy: sandwarden-heal is logged in" in hinted.stdout
    assert after.returncode == 0, after.stderr
    assert "active:     sandwarden-heal" in after.stdout
