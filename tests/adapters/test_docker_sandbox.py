"""
DockerSandboxCli and SbxCli: the command lines they run, their guards.

A recording stand-in for the tool (a few lines of Python put first on
PATH) logs each argv and answers from a table of canned outputs, so these
tests see exactly what the adapters run; the behaviour against the full
fakes is the contract suite's business.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from returns.pipeline import is_successful

from sandwarden.adapters.docker_sandbox import (
    RUN_MARKER,
    DockerSandboxCli,
    ToolTimeouts,
    plugin_operations,
    tar_tags,
)
from sandwarden.adapters.process import StopPolicy
from sandwarden.adapters.sbx import SbxCli
from sandwarden.domain.deadlines import Limits, Stop
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.sandbox import Capabilities, Operation, SandboxSpec
from sandwarden.domain.values import ImageTag, SandboxName, Workspace

_T = TypeVar("_T")

# The stand-in: log argv (and the marker's value), then answer with the
# first canned reply whose key is a prefix of the argv after the tool.
STUB = """\
import json, os, sys, time
here = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
with open(os.path.join(here, "calls.jsonl"), "a") as log:
    log.write(json.dumps({"argv": args,
        "marker": os.environ.get("SANDWARDEN_RUN")}) + "\\n")
replies = json.load(open(os.path.join(here, "replies.json")))
for key, reply in replies:
    if args[: len(key)] == key:
        sys.stdout.write(reply.get("out", ""))
        sys.stderr.write(reply.get("err", ""))
        sys.stdout.flush()
        time.sleep(reply.get("sleep", 0))
        sys.exit(reply.get("code", 0))
sys.exit(0)
"""


def sync(coroutine: Callable[[], Awaitable[_T]]) -> _T:
    async def main() -> _T:
        return await coroutine()

    return asyncio.run(main())


class Stub:
    """A recording tool named ``name`` in its own directory."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        script = directory / name
        script.write_text(f"#!{sys.executable}\n{STUB}")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
        self.reply([])

    def reply(
        self, replies: list[tuple[list[str], dict[str, object]]]
    ) -> None:
        (self.directory / "replies.json").write_text(json.dumps(replies))

    def calls(self) -> list[list[str]]:
        log = self.directory / "calls.jsonl"
        if not log.exists():
            return []
        return [
            json.loads(line)["argv"] for line in log.read_text().splitlines()
        ]

    def commands(self) -> list[list[str]]:
        """The calls after the version the adapter asks first."""
        return [call for call in self.calls() if call[1:2] != ["version"]]

    def markers(self) -> list[str | None]:
        log = self.directory / "calls.jsonl"
        return [
            json.loads(line)["marker"] for line in log.read_text().splitlines()
        ]

    def env(self) -> dict[str, str]:
        return {"PATH": f"{self.directory}{os.pathsep}/usr/bin:/bin"}


QUICK = StopPolicy(grace=0.2, cleanup_timeout=2.0)
NAME = SandboxName("sb1")
WORKSPACE = Workspace("/srv/project")

LISTING = json.dumps(
    {
        "sandboxes": [
            {
                "name": "sb1",
                "agent": "claude",
                "status": "running",
                "workspaces": ["/srv/project"],
            },
        ],
    },
)


LS_EMPTY: dict[str, object] = {"out": '{"sandboxes": []}'}


@pytest.fixture
def docker(tmp_path: Path) -> Stub:
    return Stub(tmp_path, "docker")


@pytest.fixture
def sbx(tmp_path: Path) -> Stub:
    return Stub(tmp_path, "sbx")


def plugin(stub: Stub) -> DockerSandboxCli:
    return DockerSandboxCli(env=stub.env(), policy=QUICK)


def standalone(stub: Stub) -> SbxCli:
    return SbxCli(env=stub.env(), policy=QUICK)


def test_create_puts_the_options_before_the_agent(docker: Stub) -> None:
    docker.reply([(["sandbox", "ls"], {"out": '{"vms": []}'})])
    spec = SandboxSpec(NAME, WORKSPACE, template=ImageTag("auth", "v1"))

    created = sync(lambda: plugin(docker).create(spec))

    assert created.unwrap().name == "sb1"
    assert docker.commands()[1] == [
        "sandbox",
        "create",
        "--name",
        "sb1",
        "-t",
        "auth:v1",
        "--pull-template",
        "missing",
        "claude",
        "/srv/project",
    ]


def test_an_old_plugin_is_asked_again_with_load_local_template(
    docker: Stub,
) -> None:
    spec = SandboxSpec(NAME, WORKSPACE, template=ImageTag("auth", "v1"))
    docker.reply(
        [
            (
                [
                    "sandbox",
                    "create",
                    "--name",
                    "sb1",
                    "-t",
                    "auth:v1",
                    "--pull-template",
                ],
                {"err": "unknown flag: --pull-template\n", "code": 125},
            ),
            (["sandbox", "ls"], {"out": '{"vms": []}'}),
        ],
    )

    created = sync(lambda: plugin(docker).create(spec))

    assert is_successful(created)
    assert "--load-local-template" in docker.commands()[2]


def test_a_listed_workspace_other_than_the_configured_one_is_a_mismatch(
    docker: Stub,
) -> None:
    docker.reply([(["sandbox", "ls"], {"out": LISTING})])

    found = sync(lambda: plugin(docker).find(NAME, Workspace("/elsewhere")))

    error = found.failure()
    assert error.kind is ErrorKind.WORKSPACE_MISMATCH
    assert "/srv/project" in error.message
    assert "/elsewhere" in error.message


def test_exec_forwards_the_run_marker_by_name_and_keeps_stdin_open(
    docker: Stub,
) -> None:
    async def scenario() -> None:
        started = await plugin(docker).exec(
            NAME,
            ["claude", "-p"],
            workdir=WORKSPACE,
            limits=Limits(hard=5.0),
            stdin=b"hello",
            env={"CLAUDE_CODE_OAUTH_TOKEN": "secret-value"},
        )
        await started.unwrap().wait()

    sync(scenario)

    argv = docker.calls()[0]
    assert argv[:4] == ["sandbox", "exec", "-i", "-w"]
    assert argv[argv.index(RUN_MARKER) - 1 :][:2] == ["-e", RUN_MARKER]
    assert "secret-value" not in " ".join(argv)
    assert argv[-2:] == ["claude", "-p"]
    assert docker.markers()[0]


def test_a_stopped_exec_runs_the_stop_script_for_its_marker(
    docker: Stub,
) -> None:
    docker.reply(
        [(["sandbox", "exec", "-w"], {"out": "started\n", "sleep": 30})],
    )

    async def scenario() -> Stop | None:
        started = await plugin(docker).exec(
            NAME,
            ["sleep", "30"],
            workdir=WORKSPACE,
            limits=Limits(hard=0.3),
        )
        return (await started.unwrap().wait()).unwrap().stopped

    stopped = sync(scenario)

    assert stopped is Stop.HARD_TIMEOUT
    _, cleanup = docker.calls()
    run_id = docker.markers()[0]
    assert cleanup[:2] == ["sandbox", "exec"]
    assert cleanup[-3:] == ["sandwarden-stop", run_id, "TERM"]
    assert docker.markers()[1] is None


def test_sbx_removes_with_force_after_checking_the_listing(sbx: Stub) -> None:
    sbx.reply([(["ls"], {"out": LISTING})])

    removed = sync(lambda: standalone(sbx).remove(NAME))

    assert is_successful(removed)
    assert sbx.calls()[-1] == ["rm", "-f", "sb1"]


def test_creating_a_listed_name_fails_before_the_tool_runs_create(
    docker: Stub,
) -> None:
    docker.reply([(["sandbox", "ls"], {"out": LISTING})])

    created = sync(lambda: plugin(docker).create(SandboxSpec(NAME, WORKSPACE)))

    assert created.failure().kind is ErrorKind.ALREADY_EXISTS
    assert "/srv/project" in created.failure().message
    assert all(call[1] != "create" for call in docker.calls())


def test_removing_a_missing_sandbox_is_not_found(docker: Stub) -> None:
    docker.reply([(["sandbox", "ls"], {"out": '{"vms": []}'})])

    removed = sync(lambda: plugin(docker).remove(NAME))

    assert removed.failure().reason is UnavailableReason.NOT_FOUND
    assert all(call[1] != "rm" for call in docker.calls())


def test_sbx_stops_the_sandbox_before_saving_it(sbx: Stub) -> None:
    sbx.reply([(["ls"], {"out": LISTING})])

    saved = sync(lambda: standalone(sbx).save(NAME, ImageTag("auth")))

    assert is_successful(saved)
    commands = [call[:2] for call in sbx.calls()]
    assert commands.index(["stop", "sb1"]) < commands.index(
        ["template", "save"]
    )


@pytest.mark.parametrize("raw", ["a", "my_box", "x+y", "default", "-x"])
def test_sbx_refuses_names_it_forbids_before_running_anything(
    sbx: Stub, raw: str
) -> None:
    name = SandboxName(raw)

    created = sync(
        lambda: standalone(sbx).create(SandboxSpec(name, WORKSPACE))
    )

    assert created.failure().kind is ErrorKind.INVALID_INPUT
    assert repr(raw) in created.failure().message
    assert sbx.calls() == []


def test_the_plugin_accepts_the_names_sbx_refuses(docker: Stub) -> None:
    docker.reply([(["sandbox", "ls"], {"out": '{"vms": []}'})])

    created = sync(
        lambda: plugin(docker).create(
            SandboxSpec(SandboxName("my_box+1"), WORKSPACE)
        )
    )

    assert is_successful(created)
    assert docker.commands()[1][3] == "my_box+1"


def _version_line(version: str) -> tuple[list[str], dict[str, object]]:
    line = f"github.com/docker/sandboxes/cli-plugin {version} f00f0d6\n"
    return (["sandbox", "version"], {"out": line})


BEFORE_MICROVM = {
    Operation.CREATE,
    Operation.EXEC,
    Operation.STOP,
    Operation.SAVE,
    Operation.SAVE_TO_TAR,
}


@pytest.mark.parametrize(
    ("version", "lacking"),
    [
        ("v0.6.0", BEFORE_MICROVM),
        ("v0.7.1", {Operation.SAVE, Operation.SAVE_TO_TAR}),
        ("v0.10.0", {Operation.SAVE, Operation.SAVE_TO_TAR}),
        ("v0.10.1", set()),
        ("v0.12.0", set()),
        ("v0.12.3-rc1", set()),
        (None, set()),
        ("unreadable", set()),
    ],
)
def test_the_operations_follow_the_plugin_version(
    version: str | None, lacking: set[Operation]
) -> None:
    offered = plugin_operations(version)

    assert set(Operation) - offered == lacking


def test_a_legacy_plugin_reports_and_refuses_what_it_lacks(
    docker: Stub,
) -> None:
    docker.reply([_version_line("v0.6.0"), (["sandbox", "ls"], LS_EMPTY)])
    runtime = plugin(docker)

    async def scenario() -> tuple[Capabilities, list[WardenError]]:
        capabilities = (await runtime.capabilities()).unwrap()
        created = await runtime.create(SandboxSpec(NAME, WORKSPACE))
        saved = await runtime.save(NAME, ImageTag("auth"))
        started = await runtime.exec(
            NAME, ["true"], workdir=WORKSPACE, limits=Limits(5.0)
        )
        errors = [created.failure(), saved.failure(), started.failure()]
        return capabilities, errors

    capabilities, errors = sync(scenario)

    assert capabilities.version == "v0.6.0"
    assert not capabilities.operations & BEFORE_MICROVM
    for error in errors:
        assert error.kind is ErrorKind.UNSUPPORTED
        assert "v0.6.0" in error.message
    assert docker.calls() == [
        ["sandbox", "version"],
        ["info", "--format", "{{.ServerVersion}}"],
    ]


def test_a_current_plugin_offers_every_operation(docker: Stub) -> None:
    docker.reply([_version_line("v0.12.0")])

    capabilities = sync(plugin(docker).capabilities).unwrap()

    assert capabilities.operations == frozenset(Operation)


def test_the_plugin_version_is_asked_once_per_adapter(docker: Stub) -> None:
    docker.reply([_version_line("v0.12.0"), (["sandbox", "ls"], LS_EMPTY)])
    runtime = plugin(docker)

    async def scenario() -> None:
        for raw in ("sb1", "sb2"):
            spec = SandboxSpec(SandboxName(raw), WORKSPACE)
            (await runtime.create(spec)).unwrap()

    sync(scenario)

    asked = [call for call in docker.calls() if call[1] == "version"]
    assert len(asked) == 1


@pytest.mark.parametrize("raw", ["my.box", "a+b"])
def test_a_plugin_before_v0_12_refuses_dots_and_plus_signs(
    docker: Stub, raw: str
) -> None:
    docker.reply([_version_line("v0.11.0"), (["sandbox", "ls"], LS_EMPTY)])

    created = sync(
        lambda: plugin(docker).create(SandboxSpec(SandboxName(raw), WORKSPACE))
    )

    error = created.failure()
    assert error.kind is ErrorKind.INVALID_INPUT
    assert repr(raw) in error.message
    assert "v0.11.0" in error.message
    assert docker.commands() == []


def test_a_plugin_before_v0_12_takes_underscores(docker: Stub) -> None:
    docker.reply([_version_line("v0.11.0"), (["sandbox", "ls"], LS_EMPTY)])

    created = sync(
        lambda: plugin(docker).create(
            SandboxSpec(SandboxName("my_box-1"), WORKSPACE)
        )
    )

    assert is_successful(created)
    assert docker.commands()[1][:4] == [
        "sandbox",
        "create",
        "--name",
        "my_box-1",
    ]


def test_sbx_reports_the_operations_it_lacks(sbx: Stub) -> None:
    sbx.reply([(["version"], {"out": "sbx version: v0.43.0 abc\n"})])

    capabilities = sync(lambda: standalone(sbx).capabilities()).unwrap()
    tagged = sync(
        lambda: standalone(sbx).image_tag(ImageTag("a"), ImageTag("b"))
    )

    assert capabilities.version == "v0.43.0"
    assert not capabilities.can(Operation.IMAGE_TAG)
    assert tagged.failure().kind is ErrorKind.UNSUPPORTED


def test_sbx_auth_trusts_the_host_secret_over_the_sandbox(sbx: Stub) -> None:
    logged_in = json.dumps(
        {"loggedIn": True, "authMethod": "claude.ai", "apiProvider": "x"}
    )
    sbx.reply(
        [
            (["exec"], {"out": logged_in}),
            (["secret", "ls"], {"out": '{"secrets": []}'}),
        ],
    )

    status = sync(
        lambda: standalone(sbx).auth_status(NAME, WORKSPACE, Limits(5.0))
    )

    assert status.unwrap().logged_in is False


def test_sbx_auth_reports_a_stored_api_key_for_the_billing_guard(
    sbx: Stub,
) -> None:
    sbx.reply(
        [
            (["exec"], {"out": '{"loggedIn": true, "authMethod": "x"}'}),
            (
                ["secret", "ls"],
                {"out": '{"secrets": [{"service": "anthropic"}]}'},
            ),
        ],
    )

    status = sync(
        lambda: standalone(sbx).auth_status(NAME, WORKSPACE, Limits(5.0))
    ).unwrap()

    assert status.logged_in
    assert status.auth_method == "api_key"
    assert status.api_key_source


LOGGED_IN_INSIDE: dict[str, object] = {
    "out": '{"loggedIn": true, "authMethod": "claude.ai"}'
}


def test_sbx_asks_for_the_anthropic_secret_by_service_in_json(
    sbx: Stub,
) -> None:
    sbx.reply(
        [
            (["exec"], LOGGED_IN_INSIDE),
            (["secret", "ls"], {"out": '{"secrets": []}'}),
        ],
    )

    sync(lambda: standalone(sbx).auth_status(NAME, WORKSPACE, Limits(5.0)))

    asked = [call for call in sbx.calls() if call[:2] == ["secret", "ls"]]
    assert asked == [["secret", "ls", "--service", "anthropic", "--json"]]


def test_sbx_reads_any_non_empty_secret_list_as_a_stored_credential(
    sbx: Stub,
) -> None:
    # Entry keys are undocumented: whatever they are, one entry counts.
    sbx.reply(
        [
            (["exec"], LOGGED_IN_INSIDE),
            (
                ["secret", "ls", "--service", "anthropic", "--json"],
                {"out": '{"secrets": [{"whatever": 1}]}'},
            ),
            (
                ["secret", "ls", "--service", "anthropic"],
                {"out": "SCOPE  TYPE  NAME  SECRET\n"},
            ),
        ],
    )

    status = sync(
        lambda: standalone(sbx).auth_status(NAME, WORKSPACE, Limits(5.0))
    ).unwrap()

    assert status.logged_in
    assert status.auth_method == "api_key"


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (
            {
                "err": "ERROR: ensure daemon: daemon failed to start "
                "properly after 10 retries\n",
                "code": 1,
            },
            UnavailableReason.DAEMON_DOWN,
        ),
        ({"sleep": 30}, UnavailableReason.WEDGED),
    ],
    ids=["daemon-down", "wedged"],
)
def test_sbx_auth_reports_a_failing_secret_list_instead_of_falling_back(
    sbx: Stub, reply: dict[str, object], reason: UnavailableReason
) -> None:
    sbx.reply([(["exec"], LOGGED_IN_INSIDE), (["secret", "ls"], reply)])
    runtime = SbxCli(
        env=sbx.env(), policy=QUICK, timeouts=ToolTimeouts(query=0.5)
    )

    status = sync(lambda: runtime.auth_status(NAME, WORKSPACE, Limits(5.0)))

    assert status.failure().reason is reason


def test_sbx_without_the_secret_command_leaves_the_inside_answer(
    sbx: Stub,
) -> None:
    unknown = {
        "err": "ERROR: sbx: unknown command: sbx secret\n\n"
        "Usage:  sbx COMMAND\n",
        "code": 1,
    }
    sbx.reply([(["exec"], LOGGED_IN_INSIDE), (["secret", "ls"], unknown)])

    status = sync(
        lambda: standalone(sbx).auth_status(NAME, WORKSPACE, Limits(5.0))
    ).unwrap()

    assert status.logged_in
    assert status.auth_method == "claude.ai"


def test_sbx_without_json_on_secret_ls_reads_its_table(sbx: Stub) -> None:
    sbx.reply(
        [
            (["exec"], LOGGED_IN_INSIDE),
            (
                ["secret", "ls", "--service", "anthropic", "--json"],
                {"err": "ERROR: unknown flag: --json\n", "code": 1},
            ),
            (
                ["secret", "ls", "--service", "anthropic"],
                {"out": "SCOPE  TYPE  NAME  SECRET\n"},
            ),
        ],
    )

    status = sync(
        lambda: standalone(sbx).auth_status(NAME, WORKSPACE, Limits(5.0))
    ).unwrap()

    assert status.logged_in is False


def test_a_tool_missing_from_path_is_tool_missing(tmp_path: Path) -> None:
    runtime = DockerSandboxCli(env={"PATH": str(tmp_path)})

    version = sync(runtime.version)

    assert version.failure().reason is UnavailableReason.TOOL_MISSING


def test_a_hanging_ls_fails_as_wedged(docker: Stub) -> None:
    docker.reply([(["sandbox", "ls"], {"sleep": 30})])
    runtime = DockerSandboxCli(
        env=docker.env(), policy=QUICK, timeouts=ToolTimeouts(query=0.3)
    )

    listed = sync(runtime.list)

    assert listed.failure().reason is UnavailableReason.WEDGED


def test_git_head_inside_the_sandbox_is_bounded_by_the_probe_deadline(
    docker: Stub,
) -> None:
    # The run hangs; the clean-up after it (no marker) answers at once.
    marked = ["sandbox", "exec", "-w", WORKSPACE.path, "-e", RUN_MARKER]
    docker.reply([(marked, {"sleep": 30})])
    runtime = DockerSandboxCli(
        env=docker.env(),
        policy=QUICK,
        timeouts=ToolTimeouts(query=20.0, probe=0.3),
    )

    head = sync(lambda: runtime.git_head(NAME, WORKSPACE))

    error = head.failure()
    assert error.kind is ErrorKind.TIMEOUT
    assert "within 0.3 s" in error.message


def test_tar_tags_reads_the_manifest(tmp_path: Path) -> None:
    import io
    import tarfile

    manifest = json.dumps([{"RepoTags": ["auth:v1", "bad tag"]}]).encode()
    path = tmp_path / "image.tar"
    with tarfile.open(path, "w") as archive:
        member = tarfile.TarInfo("manifest.json")
        member.size = len(manifest)
        archive.addfile(member, io.BytesIO(manifest))

    assert tar_tags(str(path)) == (ImageTag("auth", "v1"),)
