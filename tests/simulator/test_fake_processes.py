import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sandwarden.simulator.fakes import FakeTools
from sandwarden.simulator.world import Behaviour, Plan

RUN = [
    "claude",
    "-p",
    "--output-format",
    "stream-json",
    "--verbose",
    "--permission-mode",
    "bypassPermissions",
]

# Walks /proc like the adapters' clean-up script: signal every process
# whose environment holds exactly SANDWARDEN_RUN=<id>.
STOP_SCRIPT = r"""
id=$1; sig=$2
for e in /proc/[0-9]*/environ; do
  if tr '\0' '\n' < "$e" 2>/dev/null | grep -qx "SANDWARDEN_RUN=$id"; then
    pid=${e#/proc/}; pid=${pid%/environ}
    kill -s "$sig" "$pid" 2>/dev/null
  fi
done
exit 0
"""


def _eventually(check: Callable[[], bool], limit: float = 10.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


@pytest.fixture
def tools(tmp_path: Path) -> FakeTools:
    return FakeTools(tmp_path / "fakes", time_scale=0.01)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "proj"
    path.mkdir()
    return path


def _start_run(
    tools: FakeTools, tool: list[str], workspace: Path, run_id: str
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *tool,
            "-i",
            "-e",
            f"SANDWARDEN_RUN={run_id}",
            "-w",
            str(workspace),
            "sb",
            *RUN,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=tools.environment(),
    )


@pytest.mark.parametrize(
    "tool", [["docker", "sandbox", "exec"], ["sbx", "exec"]]
)
def test_a_killed_client_leaves_the_run_alive_until_the_clean_up(
    tools: FakeTools, workspace: Path, tool: list[str]
) -> None:
    tools.add_sandbox("sb", workspace)
    tools.queue_reply("sb", Plan(Behaviour.HANG))
    client = _start_run(tools, tool, workspace, "run-1")
    assert client.stdin is not None
    client.stdin.write(b"hello")
    client.stdin.close()
    assert _eventually(lambda: len(tools.alive("sb")) == 1)

    client.kill()
    client.wait(timeout=10)
    survivors = [p.marker for p in tools.alive("sb")]
    cleanup = tools.run(
        *tool,
        "-w",
        str(workspace),
        "sb",
        "sh",
        "-c",
        STOP_SCRIPT,
        "sandwarden-stop",
        "run-1",
        "TERM",
    )

    assert survivors == ["run-1"]
    assert cleanup.returncode == 0
    assert _eventually(lambda: tools.alive() == [])
    assert tools.sandboxes()["sb"].processes == {}
    client.stdout.close()  # type: ignore[union-attr]
    client.stderr.close()  # type: ignore[union-attr]


def test_a_finished_run_leaves_no_record_and_relays_the_reply(
    tools: FakeTools, workspace: Path
) -> None:
    tools.add_sandbox("sb", workspace)

    result = tools.run(
        "docker",
        "sandbox",
        "exec",
        "-i",
        "-e",
        "SANDWARDEN_RUN=r2",
        "-w",
        str(workspace),
        "sb",
        *RUN,
        stdin=b"ping",
    )

    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0
    assert lines[0]["type"] == "system"
    assert lines[-1]["type"] == "result"
    assert "ping" in lines[-1]["result"]
    assert tools.sandboxes()["sb"].processes == {}


def test_scripted_delays_are_scaled(tools: FakeTools, workspace: Path) -> None:
    tools.add_sandbox("sb", workspace)
    # Unscaled, 60 s between lines would outlast the timeout many times.
    tools.queue_reply("sb", Plan(Behaviour.NORMAL, pace=60.0))
    tools.time_scale = 0.001

    result = tools.run(
        "sbx", "exec", "-i", "sb", *RUN, stdin=b"slow", timeout=30
    )

    assert result.returncode == 0
    assert b'"type":"result"' in result.stdout


def test_the_run_marker_is_in_the_in_sandbox_environment(
    tools: FakeTools, workspace: Path
) -> None:
    tools.add_sandbox("sb", workspace)

    result = tools.run(
        "docker",
        "sandbox",
        "exec",
        "-e",
        "SANDWARDEN_RUN=r3",
        "-w",
        str(workspace),
        "sb",
        "sh",
        "-c",
        "echo $SANDWARDEN_RUN $IS_SANDBOX",
    )

    assert result.stdout == b"r3 1\n"


def test_stop_kills_what_runs_inside(
    tools: FakeTools, workspace: Path
) -> None:
    tools.add_sandbox("sb", workspace)
    tools.queue_reply("sb", Plan(Behaviour.HANG))
    client = _start_run(
        tools, ["docker", "sandbox", "exec"], workspace, "run-4"
    )
    assert client.stdin is not None
    client.stdin.write(b"hello")
    client.stdin.close()
    assert _eventually(lambda: len(tools.alive("sb")) == 1)

    tools.run("docker", "sandbox", "stop", "sb")
    code = client.wait(timeout=10)

    assert code == 137
    assert _eventually(lambda: tools.alive() == [])
    client.stdout.close()  # type: ignore[union-attr]
    client.stderr.close()  # type: ignore[union-attr]


def test_a_workdir_outside_the_workspaces_fails_silently(
    tools: FakeTools, workspace: Path, tmp_path: Path
) -> None:
    tools.add_sandbox("sb", workspace)

    result = tools.run(
        "docker",
        "sandbox",
        "exec",
        "-w",
        str(tmp_path),
        "sb",
        *RUN,
        "hello",
    )

    assert result.returncode == 1
    assert result.stdout == b""
    assert result.stderr == b""


def test_git_head_answers_from_the_world_when_set(
    tools: FakeTools, workspace: Path
) -> None:
    tools.add_sandbox("sb", workspace)
    tools.set_head("sb", str(workspace), "a" * 40)

    result = tools.run(
        "docker",
        "sandbox",
        "exec",
        "-w",
        str(workspace),
        "sb",
        "git",
        "rev-parse",
        "HEAD",
    )

    assert result.stdout == b"a" * 40 + b"\n"


def test_an_expired_login_gets_the_not_logged_in_answer(
    tools: FakeTools, workspace: Path
) -> None:
    tools.add_sandbox("sb", workspace)
    tools.expire_login("sb")

    result = tools.run(
        "docker",
        "sandbox",
        "exec",
        "-i",
        "-w",
        str(workspace),
        "sb",
        *RUN,
        stdin=b"hi",
    )

    last = json.loads(result.stdout.splitlines()[-1])
    assert result.returncode == 1
    assert last["is_error"] is True


def test_concurrent_invocations_keep_every_change(
    tools: FakeTools, workspace: Path
) -> None:
    names = [f"sb{index}" for index in range(8)]
    environment = tools.environment()

    creators = [
        subprocess.Popen(
            [
                "docker",
                "sandbox",
                "create",
                "--name",
                name,
                "claude",
                str(workspace),
            ],
            stdout=subprocess.DEVNULL,
            env=environment,
        )
        for name in names
    ]
    listers = [
        subprocess.Popen(
            ["sbx", "ls", "--json"], stdout=subprocess.PIPE, env=environment
        )
        for _ in range(4)
    ]
    codes = [process.wait(timeout=60) for process in creators]
    outputs = [process.communicate(timeout=60)[0] for process in listers]

    assert codes == [0] * len(names)
    assert sorted(tools.sandboxes()) == names
    for output in outputs:
        assert set(json.loads(output)) == {"sandboxes"}
