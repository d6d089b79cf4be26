import json
from pathlib import Path

import pytest

from sandwarden.simulator.fakes import DockerGeneration, FakeTools


@pytest.fixture
def tools(tmp_path: Path) -> FakeTools:
    return FakeTools(tmp_path / "fakes", time_scale=0.01)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


def test_version_prints_the_plugin_line(tools: FakeTools) -> None:
    result = tools.run("docker", "sandbox", "version")

    assert result.returncode == 0
    words = result.stdout.decode().split()
    assert words[:2] == ["github.com/docker/sandboxes/cli-plugin", "v0.12.0"]
    assert len(words[2]) == 40


def test_create_prints_the_created_block_and_lists_running(
    tools: FakeTools, workspace: Path
) -> None:
    created = tools.run(
        "docker",
        "sandbox",
        "create",
        "--name",
        "sb1",
        "claude",
        str(workspace),
    )
    listed = tools.run("docker", "sandbox", "ls")

    assert created.returncode == 0
    assert created.stdout.decode().splitlines() == [
        "✓ Created sandbox sb1 in VM sb1",
        f"  Workspace: {workspace}",
        "  Agent: claude",
        "",
        "To connect to this sandbox, run:",
        "  docker sandbox run sb1",
    ]
    assert listed.stdout.decode().splitlines() == [
        "SANDBOX   AGENT    STATUS    WORKSPACE",
        f"sb1       claude   running   {workspace}",
    ]


def test_create_defaults_the_name_to_agent_and_directory(
    tools: FakeTools, workspace: Path
) -> None:
    tools.run("docker", "sandbox", "create", "claude", str(workspace))

    assert list(tools.sandboxes()) == ["claude-project"]


def test_create_of_an_existing_name_says_already_exists(
    tools: FakeTools, workspace: Path
) -> None:
    tools.add_sandbox("sb1", workspace)

    result = tools.run(
        "docker",
        "sandbox",
        "create",
        "--name",
        "sb1",
        "claude",
        str(workspace),
    )

    assert result.returncode == 1
    assert b"already exists" in result.stderr


def test_ls_joins_workspaces_and_shows_a_dash_for_none(
    tools: FakeTools, workspace: Path
) -> None:
    tools.add_sandbox("a", workspace, extra_workspaces=["/data:ro"])
    with tools.change() as state:
        state.world.sandboxes["a"].workspaces.append("/more")
    tools.add_sandbox("b", workspace)
    with tools.change() as state:
        state.world.sandboxes["b"].workspaces.clear()

    lines = tools.run("docker", "sandbox", "ls").stdout.decode().splitlines()

    assert lines[1].endswith(f"{workspace}, /data:ro, /more")
    assert lines[2].endswith("   -")


def test_ls_json_uses_the_sandboxes_key_in_g2(
    tools: FakeTools, workspace: Path
) -> None:
    tools.add_sandbox("sb1", workspace)

    result = tools.run("docker", "sandbox", "ls", "--json")

    assert json.loads(result.stdout) == {
        "sandboxes": [
            {
                "name": "sb1",
                "agent": "claude",
                "status": "running",
                "workspaces": [str(workspace)],
            },
        ],
    }


def test_ls_json_uses_the_vms_key_in_g1_and_hides_stopped_workspaces(
    tools: FakeTools, workspace: Path
) -> None:
    tools.set_generation(docker=DockerGeneration.G1, version="v0.11.0")
    tools.add_sandbox("up", workspace)
    tools.add_sandbox("down", workspace, status="stopped")

    vms = json.loads(tools.run("docker", "sandbox", "ls", "--json").stdout)

    assert list(vms) == ["vms"]
    by_name = {vm["name"]: vm for vm in vms["vms"]}
    assert by_name["up"]["workspaces"] == [str(workspace)]
    assert "socket_path" in by_name["up"]
    assert "workspaces" not in by_name["down"]


def test_legacy_lists_the_container_table_and_lacks_exec(
    tools: FakeTools, workspace: Path
) -> None:
    tools.set_generation(docker=DockerGeneration.LEGACY, version="v0.6.0")
    tools.add_sandbox("old", workspace)

    listed = tools.run("docker", "sandbox", "ls")
    executed = tools.run("docker", "sandbox", "exec", "old", "true")

    header = listed.stdout.decode().splitlines()[0].split()
    assert header[:2] == ["SANDBOX", "ID"]
    assert "CREATED" in header
    assert executed.returncode == 1
    assert b'unknown command "exec"' in executed.stderr


def test_ls_quiet_prints_names(tools: FakeTools, workspace: Path) -> None:
    tools.add_sandbox("b", workspace)
    tools.add_sandbox("a", workspace)

    result = tools.run("docker", "sandbox", "ls", "-q")

    assert result.stdout == b"a\nb\n"


def test_an_unknown_flag_prints_usage_and_exits_125(
    tools: FakeTools,
) -> None:
    result = tools.run("docker", "sandbox", "ls", "--bogus")

    assert result.returncode == 125
    lines = result.stderr.decode().splitlines()
    assert lines[0] == "unknown flag: --bogus"
    assert lines[2].startswith("Usage:  docker sandbox ls")
    assert result.stdout == b""


@pytest.mark.parametrize("command", ["stop", "rm"])
def test_a_missing_sandbox_is_reported_on_stderr_without_prefix(
    tools: FakeTools, command: str
) -> None:
    result = tools.run("docker", "sandbox", command, "ghost")

    assert result.returncode == 1
    assert result.stderr == b"no sandbox found in 'ghost'\n"


def test_stop_and_rm_print_each_name(
    tools: FakeTools, workspace: Path
) -> None:
    tools.add_sandbox("sb1", workspace)

    stopped = tools.run("docker", "sandbox", "stop", "sb1")
    status = tools.sandboxes()["sb1"].status
    removed = tools.run("docker", "sandbox", "rm", "sb1")

    assert stopped.stdout == b"sb1\n"
    assert status == "stopped"
    assert removed.stdout == b"sb1\n"
    assert tools.sandboxes() == {}


@pytest.mark.parametrize(
    ("generation", "expected"),
    [
        (DockerGeneration.G2, b"docker: unknown command: docker sandbox\n"),
        (DockerGeneration.LEGACY, b"'sandbox' is not a docker command"),
    ],
)
def test_a_missing_plugin_is_an_unknown_command(
    tools: FakeTools, generation: DockerGeneration, expected: bytes
) -> None:
    tools.set_generation(docker=generation)
    tools.set_plugin(present=False)

    result = tools.run("docker", "sandbox", "ls")

    assert result.returncode == 1
    assert expected in result.stderr


def test_with_the_image_store_down_sandboxes_work_but_images_do_not(
    tools: FakeTools, workspace: Path
) -> None:
    tools.add_sandbox("sb1", workspace)
    tools.set_image_store(up=False)

    listed = tools.run("docker", "sandbox", "ls")
    saved = tools.run("docker", "sandbox", "save", "sb1", "t:v1")
    info = tools.run("docker", "info")

    assert listed.returncode == 0
    assert saved.returncode == 1
    assert b"Cannot connect to the Docker daemon" in saved.stderr
    assert info.returncode == 1
    assert b"Is the docker daemon running?" in info.stderr


def test_with_the_daemon_down_sandbox_commands_fail(
    tools: FakeTools, workspace: Path
) -> None:
    tools.add_sandbox("sb1", workspace)
    tools.set_daemon(up=False)

    listed = tools.run("docker", "sandbox", "ls")
    version = tools.run("docker", "sandbox", "version")

    assert listed.returncode == 1
    assert b"Cannot connect to the Docker daemon" in listed.stderr
    assert version.returncode == 0


def test_save_tag_export_and_load_round_trip_an_image(
    tools: FakeTools, workspace: Path, tmp_path: Path
) -> None:
    tools.add_sandbox("sb1", workspace)
    tar = tmp_path / "backup.tar"

    saved = tools.run("docker", "sandbox", "save", "sb1", "auth:v1")
    tagged = tools.run("docker", "tag", "auth:v1", "auth:latest")
    exported = tools.run("docker", "image", "save", "-o", str(tar), "auth:v1")
    with tools.change() as state:
        state.world.tags.clear()
        state.world.images.clear()
    loaded = tools.run("docker", "image", "load", "-i", str(tar))
    inspected = tools.run("docker", "image", "inspect", "auth:v1")

    assert saved.stdout == b"\xe2\x9c\x93 Saved sandbox as auth:v1\n"
    assert tagged.returncode == 0
    assert exported.returncode == 0
    assert loaded.stdout == b"Loaded image: auth:v1\n"
    assert json.loads(inspected.stdout)[0]["RepoTags"] == ["auth:v1"]


def test_inspect_of_an_unknown_image_fails(tools: FakeTools) -> None:
    result = tools.run("docker", "image", "inspect", "nope:v1")

    assert result.returncode == 1
    assert b"No such image: nope:v1" in result.stderr


def test_create_from_a_saved_template_keeps_the_login(
    tools: FakeTools, workspace: Path
) -> None:
    tools.add_sandbox("sb1", workspace)
    tools.run("docker", "sandbox", "save", "sb1", "auth:v1")

    created = tools.run(
        "docker",
        "sandbox",
        "create",
        "-t",
        "auth:v1",
        "--name",
        "heal",
        "claude",
        str(workspace),
    )
    status = tools.run(
        "docker",
        "sandbox",
        "exec",
        "-w",
        str(workspace),
        "heal",
        "claude",
        "auth",
        "status",
        "--json",
    )

    assert created.returncode == 0
    assert status.returncode == 0
    assert json.loads(status.stdout)["loggedIn"] is True


def test_a_fresh_sandbox_is_not_logged_in(
    tools: FakeTools, workspace: Path
) -> None:
    tools.run(
        "docker",
        "sandbox",
        "create",
        "--name",
        "new",
        "claude",
        str(workspace),
    )

    status = tools.run(
        "docker",
        "sandbox",
        "exec",
        "-w",
        str(workspace),
        "new",
        "claude",
        "auth",
        "status",
        "--json",
    )

    assert status.returncode == 1
    assert json.loads(status.stdout)["loggedIn"] is False


def test_a_generation_that_does_not_exist_is_refused_and_nothing_changes(
    tools: FakeTools,
) -> None:
    before = tools.state_file.path.read_bytes()

    with pytest.raises(ValueError, match=r"'g0' is no DockerGeneration.*'g2'"):
        tools.set_generation(docker="g0")  # type: ignore[arg-type]

    assert tools.state_file.path.read_bytes() == before
    assert tools.run("docker", "sandbox", "ls").returncode == 0
