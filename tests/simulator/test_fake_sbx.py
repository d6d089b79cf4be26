import json
from pathlib import Path

import pytest

from sandwarden.simulator.fakes import FakeTools, SbxGeneration


@pytest.fixture
def tools(tmp_path: Path) -> FakeTools:
    return FakeTools(tmp_path / "fakes", time_scale=0.01)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "proj"
    path.mkdir()
    return path


@pytest.mark.parametrize(
    ("generation", "first"),
    [
        (SbxGeneration.CURRENT, "sbx version: v0.43.0 "),
        (SbxGeneration.EARLY, "Client Version:  v0.31.3 "),
    ],
)
def test_version_prints_the_generation_s_format(
    tools: FakeTools, generation: SbxGeneration, first: str
) -> None:
    tools.set_generation(sbx=generation)

    result = tools.run("sbx", "version")

    assert result.returncode == 0
    assert result.stdout.decode().startswith(first)


def test_ls_without_sandboxes_says_so(tools: FakeTools) -> None:
    result = tools.run("sbx", "ls")

    assert (
        result.stdout == b"No sandboxes found.\nLaunch one: sbx run claude\n"
    )


def test_ls_table_has_a_ports_column_and_json_a_sandboxes_key(
    tools: FakeTools, workspace: Path
) -> None:
    created = tools.run(
        "sbx", "create", "--name", "my-sandbox", "claude", str(workspace)
    )

    table = tools.run("sbx", "ls").stdout.decode().splitlines()
    listed = json.loads(tools.run("sbx", "ls", "--format", "json").stdout)

    assert created.stdout.decode().startswith("✓ Created sandbox 'my-sandbox'")
    assert table[0].split() == [
        "SANDBOX",
        "AGENT",
        "STATUS",
        "PORTS",
        "WORKSPACE",
    ]
    assert table[1].split() == [
        "my-sandbox",
        "claude",
        "running",
        str(workspace),
    ]
    assert listed["sandboxes"][0]["workspaces"] == [str(workspace)]


@pytest.mark.parametrize("name", ["a_b", "a+b", "x", "default", "-ab"])
def test_create_refuses_names_sbx_forbids(
    tools: FakeTools, workspace: Path, name: str
) -> None:
    result = tools.run(
        "sbx", "create", "--name", name, "claude", str(workspace)
    )

    assert result.returncode == 1
    assert result.stderr.startswith(b"ERROR: invalid sandbox name")
    assert tools.sandboxes() == {}


def test_create_twice_for_one_workspace_gives_the_duplicate_text(
    tools: FakeTools, workspace: Path
) -> None:
    tools.run("sbx", "create", "claude", str(workspace))

    again = tools.run("sbx", "create", "claude", str(workspace))

    assert again.returncode == 1
    assert again.stderr.decode().startswith(
        'ERROR: sandbox "claude-proj" already exists for this workspace;'
    )


def test_exec_on_an_unknown_sandbox_gives_the_hint(tools: FakeTools) -> None:
    result = tools.run("sbx", "exec", "none", "true")

    assert result.returncode == 1
    assert result.stderr == (
        b"ERROR: no sandbox named 'none'\n\nTo create one:\n"
        b"  sbx create AGENT WORKSPACE\n"
    )


def test_exec_starts_a_stopped_sandbox_in_its_workspace(
    tools: FakeTools, workspace: Path
) -> None:
    tools.add_sandbox("sb", workspace, status="stopped")

    result = tools.run("sbx", "exec", "sb", "--", "pwd")

    assert result.stdout.decode().strip() == str(workspace)
    assert tools.sandboxes()["sb"].status == "running"


def test_an_unknown_flag_has_the_error_prefix(tools: FakeTools) -> None:
    result = tools.run("sbx", "ls", "--bogus")

    assert result.returncode == 1
    assert result.stderr == b"ERROR: unknown flag: --bogus\n"


def test_early_ls_has_no_format_flag(tools: FakeTools) -> None:
    tools.set_generation(sbx=SbxGeneration.EARLY)

    result = tools.run("sbx", "ls", "--format", "json")

    assert result.stderr == b"ERROR: unknown flag: --format\n"


def test_rm_without_force_refuses_when_stdin_is_not_a_terminal(
    tools: FakeTools, workspace: Path
) -> None:
    tools.add_sandbox("sb", workspace)

    refused = tools.run("sbx", "rm", "sb")
    forced = tools.run("sbx", "rm", "-f", "sb")

    assert refused.returncode == 1
    assert refused.stderr.startswith(b"ERROR: ")
    assert forced.returncode == 0
    assert tools.sandboxes() == {}


def test_a_down_daemon_is_started_with_a_banner_on_stdout(
    tools: FakeTools,
) -> None:
    tools.set_daemon(up=False)

    first = tools.run("sbx", "ls", "--json")
    second = tools.run("sbx", "ls", "--json")

    assert first.stdout.startswith(b"Starting sandboxd daemon...\n")
    assert json.loads(second.stdout) == {"sandboxes": []}
    assert tools.world().daemon_up


def test_template_save_refuses_a_running_sandbox_then_saves_it_stopped(
    tools: FakeTools, workspace: Path
) -> None:
    tools.add_sandbox("sb", workspace)

    refused = tools.run("sbx", "template", "save", "sb", "auth:v1")
    tools.run("sbx", "stop", "sb")
    saved = tools.run("sbx", "template", "save", "sb", "auth:v1")
    listed = tools.run("sbx", "template", "ls")

    assert refused.returncode == 1
    assert b"is running" in refused.stderr
    assert saved.returncode == 0
    assert "auth:v1" in tools.images()
    assert listed.stdout.decode().split()[:5] == [
        "REPOSITORY",
        "TAG",
        "IMAGE",
        "ID",
        "FLAVOR",
    ]


def test_a_new_sandbox_is_logged_in_when_the_host_has_the_secret(
    tools: FakeTools, workspace: Path
) -> None:
    stored = tools.run("sbx", "secret", "set", "anthropic", stdin=b"sk-1\n")
    listed = tools.run(
        "sbx", "secret", "ls", "--service", "anthropic", "--json"
    )
    tools.run("sbx", "create", "--name", "sb", "claude", str(workspace))

    status = tools.run("sbx", "exec", "sb", "claude", "auth", "status")

    assert stored.returncode == 0
    assert [s["name"] for s in json.loads(listed.stdout)["secrets"]] == [
        "anthropic"
    ]
    assert status.returncode == 0


def test_diagnose_reports_checks_as_json(tools: FakeTools) -> None:
    result = tools.run("sbx", "diagnose", "--format", "json")

    checks = json.loads(result.stdout)["checks"]
    assert {c["name"] for c in checks} >= {"Daemon", "Authentication"}
