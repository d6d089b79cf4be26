"""
The suite's own clean-up: what a test names under its prefix is removed.

Run against the fake tools, so that the teardown the real subjects rely
on is exercised without Docker.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from contracts.subjects import ContractNames, remove_named
from sandwarden.adapters.docker_sandbox import DockerSandboxCli
from sandwarden.adapters.process import StopPolicy
from sandwarden.adapters.sbx import SbxCli
from sandwarden.simulator.fakes import FakeTools
from sandwarden.simulator.world import ClaudeCli, Image, Login, Tool

QUICK = StopPolicy(grace=0.3, cleanup_timeout=3.0)


def _tools(tmp_path: Path, tool: Tool) -> FakeTools:
    tools = FakeTools(tmp_path, time_scale=0.01)
    with tools.change() as state:
        state.world.tool = tool
        state.world.images["sha256:1"] = Image(
            "sha256:1", "claude", Login(), ClaudeCli(), "test", 0.0
        )
    return tools


@pytest.mark.parametrize("tool", [Tool.DOCKER_SANDBOX, Tool.SBX])
def test_the_clean_up_removes_only_what_carries_the_prefix(
    tmp_path: Path, tool: Tool
) -> None:
    tools = _tools(tmp_path, tool)
    names, other = ContractNames.fresh(), ContractNames.fresh()
    tools.add_sandbox(names.main, tmp_path)
    tools.add_sandbox(names.new, tmp_path)
    tools.add_sandbox(other.main, tmp_path)
    tools.add_sandbox("users-own", tmp_path)
    with tools.change() as state:
        for tag in (names.image("v1"), names.image("prev"), other.image()):
            state.world.tags[str(tag)] = "sha256:1"
    adapter = SbxCli if tool is Tool.SBX else DockerSandboxCli
    cli = adapter(env=tools.environment(), policy=QUICK)

    problems = asyncio.run(remove_named(cli, names.prefix))

    assert problems == []
    assert sorted(tools.sandboxes()) == sorted([other.main, "users-own"])
    assert list(tools.images()) == [str(other.image())]


def test_a_clean_up_that_cannot_list_logs_instead_of_raising(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tools = _tools(tmp_path, Tool.DOCKER_SANDBOX)
    tools.set_plugin(present=False)
    cli = DockerSandboxCli(env=tools.environment(), policy=QUICK)

    with caplog.at_level(logging.WARNING, logger="contracts"):
        problems = asyncio.run(remove_named(cli, "contract-"))

    assert problems[0].startswith("could not list sandboxes")
    assert "plugin" in problems[0]
    assert any("could not list" in r.getMessage() for r in caplog.records)


def test_a_clean_up_past_its_budget_stops_and_says_so(tmp_path: Path) -> None:
    tools = _tools(tmp_path, Tool.DOCKER_SANDBOX)
    tools.set_daemon(up=True, wedged=True)
    cli = DockerSandboxCli(env=tools.environment(), policy=QUICK)

    problems = asyncio.run(remove_named(cli, "contract-", budget=0.5))

    assert problems == ["the clean-up took longer than 0.5 s"]
