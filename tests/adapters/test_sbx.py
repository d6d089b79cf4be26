"""The CLI adapters against D2's fake executables, generation by generation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from returns.pipeline import is_successful

from sandwarden.adapters.docker_sandbox import DockerSandboxCli
from sandwarden.adapters.process import StopPolicy
from sandwarden.adapters.sbx import SbxCli
from sandwarden.domain.deadlines import Limits
from sandwarden.domain.errors import ErrorKind
from sandwarden.domain.sandbox import Operation, SandboxSpec, SandboxStatus
from sandwarden.domain.values import ImageTag, SandboxName, Workspace
from sandwarden.simulator.clock import VirtualClock
from sandwarden.simulator.fakes import (
    DockerGeneration,
    FakeTools,
    SbxGeneration,
)
from sandwarden.simulator.runtime import SimulatedRuntime
from sandwarden.simulator.world import Tool, World

QUICK = StopPolicy(grace=0.3, cleanup_timeout=3.0)


def fakes(tmp_path: Path, tool: Tool) -> tuple[FakeTools, Path]:
    tools = FakeTools(tmp_path, time_scale=0.01)
    with tools.change() as state:
        state.world.tool = tool
    workspace = tmp_path / "ws"
    workspace.mkdir()

    return tools, workspace


@pytest.mark.parametrize(
    "generation", [DockerGeneration.G1, DockerGeneration.G2]
)
def test_the_plugin_listing_is_read_in_each_generation(
    tmp_path: Path, generation: DockerGeneration
) -> None:
    tools, workspace = fakes(tmp_path, Tool.DOCKER_SANDBOX)
    tools.add_sandbox("main", str(workspace), status="stopped")
    tools.set_generation(docker=generation)
    runtime = DockerSandboxCli(env=tools.environment(), policy=QUICK)

    listed = asyncio.run(runtime.list()).unwrap()

    assert [(i.name, i.status) for i in listed] == [
        ("main", SandboxStatus.STOPPED)
    ]


_MICROVM_ONLY = {
    Operation.CREATE,
    Operation.EXEC,
    Operation.STOP,
    Operation.SAVE,
    Operation.SAVE_TO_TAR,
}


@pytest.mark.parametrize(
    ("generation", "version", "lacking"),
    [
        (DockerGeneration.LEGACY, "v0.6.0", _MICROVM_ONLY),
        (DockerGeneration.G1, "v0.11.0", set()),
        (DockerGeneration.G2, "v0.12.0", set()),
    ],
)
def test_the_plugin_capabilities_follow_the_version_each_generation_prints(
    tmp_path: Path,
    generation: DockerGeneration,
    version: str,
    lacking: set[Operation],
) -> None:
    tools, _ = fakes(tmp_path, Tool.DOCKER_SANDBOX)
    tools.set_generation(docker=generation)
    runtime = DockerSandboxCli(env=tools.environment(), policy=QUICK)

    capabilities = asyncio.run(runtime.capabilities()).unwrap()

    assert capabilities.version == version
    assert set(Operation) - capabilities.operations == lacking


def test_a_legacy_plugin_is_refused_create_before_it_runs(
    tmp_path: Path,
) -> None:
    tools, workspace = fakes(tmp_path, Tool.DOCKER_SANDBOX)
    tools.set_generation(docker=DockerGeneration.LEGACY)
    runtime = DockerSandboxCli(env=tools.environment(), policy=QUICK)
    spec = SandboxSpec(SandboxName("main"), Workspace(str(workspace)))

    created = asyncio.run(runtime.create(spec))

    assert created.failure().kind is ErrorKind.UNSUPPORTED
    assert "`create` (added in v0.7.0)" in created.failure().message
    assert tools.sandboxes() == {}


def test_a_g1_plugin_before_v0_10_1_has_no_save_and_says_so(
    tmp_path: Path,
) -> None:
    tools, workspace = fakes(tmp_path, Tool.DOCKER_SANDBOX)
    tools.set_generation(docker=DockerGeneration.G1, version="v0.9.0")
    tools.add_sandbox("main", str(workspace))
    runtime = DockerSandboxCli(env=tools.environment(), policy=QUICK)
    refused = tools.run("docker", "sandbox", "save", "main", "auth:v1")

    capabilities = asyncio.run(runtime.capabilities()).unwrap()
    saved = asyncio.run(runtime.save(SandboxName("main"), ImageTag("auth")))

    assert b'unknown command "save"' in refused.stderr
    assert not capabilities.can(Operation.SAVE)
    assert capabilities.can(Operation.EXEC)
    assert saved.failure().kind is ErrorKind.UNSUPPORTED
    assert tools.images() == {}


@pytest.mark.parametrize(
    "generation", [SbxGeneration.EARLY, SbxGeneration.CURRENT]
)
def test_both_sbx_version_formats_are_read_from_the_fake(
    tmp_path: Path, generation: SbxGeneration
) -> None:
    tools, _ = fakes(tmp_path, Tool.SBX)
    tools.set_generation(sbx=generation, version="v0.31.3")
    runtime = SbxCli(env=tools.environment(), policy=QUICK)

    version = asyncio.run(runtime.version())

    assert version.unwrap() == "v0.31.3"


def test_sbx_reads_the_listing_after_its_daemon_banner(tmp_path: Path) -> None:
    tools, workspace = fakes(tmp_path, Tool.SBX)
    tools.add_sandbox("main", str(workspace))
    tools.set_daemon(up=False)
    runtime = SbxCli(env=tools.environment(), policy=QUICK)

    listed = asyncio.run(runtime.list()).unwrap()

    assert [info.name for info in listed] == ["main"]


def test_sbx_probe_reports_an_oauth_secret_as_a_subscription_login(
    tmp_path: Path,
) -> None:
    tools, workspace = fakes(tmp_path, Tool.SBX)
    tools.add_secret("anthropic", "oauth")
    tools.add_sandbox("main", str(workspace))
    runtime = SbxCli(env=tools.environment(), policy=QUICK)

    status = asyncio.run(
        runtime.auth_status(
            SandboxName("main"), Workspace(str(workspace)), Limits(10.0)
        )
    ).unwrap()

    assert status.logged_in
    assert status.auth_method == "claude.ai"
    assert status.api_key_source is None


@pytest.mark.parametrize(
    ("generation", "kind", "method"),
    [
        (SbxGeneration.CURRENT, "api_key", "api_key"),
        (SbxGeneration.EARLY, "oauth", "claude.ai"),
        (SbxGeneration.EARLY, "api_key", "api_key"),
    ],
)
def test_sbx_probe_reads_the_kind_of_the_stored_secret_in_each_generation(
    tmp_path: Path, generation: SbxGeneration, kind: str, method: str
) -> None:
    tools, workspace = fakes(tmp_path, Tool.SBX)
    tools.set_generation(sbx=generation)
    tools.add_secret("anthropic", kind)
    tools.add_secret("github", "oauth")
    tools.add_sandbox("main", str(workspace))
    runtime = SbxCli(env=tools.environment(), policy=QUICK)

    status = asyncio.run(
        runtime.auth_status(
            SandboxName("main"), Workspace(str(workspace)), Limits(10.0)
        )
    ).unwrap()

    assert status.logged_in
    assert status.auth_method == method


def test_sbx_probe_without_a_stored_secret_is_logged_out(
    tmp_path: Path,
) -> None:
    tools, workspace = fakes(tmp_path, Tool.SBX)
    tools.add_secret("github", "oauth")
    tools.add_sandbox("main", str(workspace))
    runtime = SbxCli(env=tools.environment(), policy=QUICK)

    status = asyncio.run(
        runtime.auth_status(
            SandboxName("main"), Workspace(str(workspace)), Limits(10.0)
        )
    ).unwrap()

    assert status.logged_in is False


def test_sbx_save_leaves_a_template_in_its_store(tmp_path: Path) -> None:
    tools, workspace = fakes(tmp_path, Tool.SBX)
    tools.add_sandbox("main", str(workspace))
    runtime = SbxCli(env=tools.environment(), policy=QUICK)

    async def scenario() -> bool:
        (await runtime.save(SandboxName("main"), ImageTag("auth"))).unwrap()
        return (await runtime.image_exists(ImageTag("auth"))).unwrap()

    assert asyncio.run(scenario())
    assert tools.sandboxes()["main"].status == "stopped"


def test_sbx_loads_a_tar_it_saved_back_into_an_emptied_store(
    tmp_path: Path,
) -> None:
    tools, workspace = fakes(tmp_path, Tool.SBX)
    tools.add_sandbox("main", str(workspace))
    runtime = SbxCli(env=tools.environment(), policy=QUICK)
    tag = ImageTag("auth", "v2")
    tar = tmp_path / "auth.tar"

    saved = asyncio.run(
        runtime.save_to_tar(SandboxName("main"), tag, str(tar))
    )
    with tools.change() as state:
        state.world.tags.clear()
    emptied = asyncio.run(runtime.image_exists(tag)).unwrap()
    loaded = asyncio.run(runtime.image_load(str(tar)))

    assert is_successful(saved)
    assert tar.stat().st_size > 0
    assert emptied is False
    assert loaded.unwrap() == (tag,)
    assert asyncio.run(runtime.image_exists(tag)).unwrap() is True


def test_the_plugin_saving_to_a_tar_also_leaves_the_template_in_docker(
    tmp_path: Path,
) -> None:
    tools, workspace = fakes(tmp_path, Tool.DOCKER_SANDBOX)
    tools.add_sandbox("main", str(workspace))
    runtime = DockerSandboxCli(env=tools.environment(), policy=QUICK)
    tag = ImageTag("auth", "v2")
    tar = tmp_path / "auth.tar"

    saved = asyncio.run(
        runtime.save_to_tar(SandboxName("main"), tag, str(tar))
    )

    assert is_successful(saved)
    assert tar.stat().st_size > 0
    assert asyncio.run(runtime.image_exists(tag)).unwrap() is True


@pytest.mark.parametrize("tool", [Tool.DOCKER_SANDBOX, Tool.SBX])
def test_the_simulator_offers_the_operations_of_the_real_adapter(
    tmp_path: Path, tool: Tool
) -> None:
    tools, _ = fakes(tmp_path, tool)
    adapter = SbxCli if tool is Tool.SBX else DockerSandboxCli
    real = adapter(env=tools.environment(), policy=QUICK)
    clock = VirtualClock()
    simulated = SimulatedRuntime(World(tool=tool), clock)

    wanted = asyncio.run(real.capabilities()).unwrap().operations
    offered = clock.run(simulated.capabilities()).unwrap().operations

    assert offered == wanted
    assert Operation.SAVE_TO_TAR in offered


def test_the_plugin_feeds_a_tar_to_docker_and_reports_the_bytes(
    tmp_path: Path,
) -> None:
    tools, workspace = fakes(tmp_path, Tool.DOCKER_SANDBOX)
    tools.add_sandbox("main", str(workspace))
    runtime = DockerSandboxCli(env=tools.environment(), policy=QUICK)
    tag = ImageTag("auth", "v3")
    tar = tmp_path / "auth.tar"
    asyncio.run(runtime.save_to_tar(SandboxName("main"), tag, str(tar)))
    with tools.change() as state:
        state.world.tags.clear()
    fed: list[int] = []

    loaded = asyncio.run(runtime.image_load(str(tar), progress=fed.append))

    assert loaded.unwrap() == (tag,)
    assert fed[-1] == tar.stat().st_size
    assert asyncio.run(runtime.image_exists(tag)).unwrap() is True


def test_a_missing_tar_is_not_found_before_docker_runs(tmp_path: Path) -> None:
    tools, _ = fakes(tmp_path, Tool.DOCKER_SANDBOX)
    runtime = DockerSandboxCli(env=tools.environment(), policy=QUICK)

    loaded = asyncio.run(runtime.image_load(str(tmp_path / "absent.tar")))

    assert loaded.failure().kind is ErrorKind.NOT_FOUND
    assert "absent.tar" in loaded.failure().message


def test_sbx_loads_from_the_path_and_reports_no_bytes(tmp_path: Path) -> None:
    tools, workspace = fakes(tmp_path, Tool.SBX)
    tools.add_sandbox("main", str(workspace))
    runtime = SbxCli(env=tools.environment(), policy=QUICK)
    tag = ImageTag("auth", "v3")
    tar = tmp_path / "auth.tar"
    asyncio.run(runtime.save_to_tar(SandboxName("main"), tag, str(tar)))
    fed: list[int] = []

    loaded = asyncio.run(runtime.image_load(str(tar), progress=fed.append))

    assert loaded.unwrap() == (tag,)
    assert fed == []
