"""
The real Claude CLI behind the fake ``docker`` and ``sbx`` executables.

The whole path is real except Docker: the adapter builds the argv, the
process runner starts the fake tool, which execs the real claude (named
by ``SANDWARDEN_FAKE_CLAUDE``) in the workspace with the stand-in's
address in its environment; pipes, signals, deadlines, the in-sandbox
clean-up and the CLI's own stream-json are all the real thing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from returns.pipeline import is_successful

from sandwarden.adapters.docker_sandbox import DockerSandboxCli
from sandwarden.adapters.process import StopPolicy
from sandwarden.adapters.sbx import SbxCli
from sandwarden.domain.deadlines import Limits, Stop
from sandwarden.domain.errors import ErrorKind
from sandwarden.domain.events import ApiRetry, Event
from sandwarden.domain.invocation import ClaudeRun
from sandwarden.domain.reply import Reply, decode
from sandwarden.domain.retries import RetryVerdict, judge_retry
from sandwarden.domain.sandbox import ExecResult, Stream
from sandwarden.domain.stream import StreamDecoder
from sandwarden.domain.values import SandboxName, Workspace
from sandwarden.ports import SandboxRuntime
from sandwarden.simulator.fakes import FakeTools
from sandwarden.simulator.fakes.state import CLAUDE_ENV
from sandwarden.simulator.messages_api import (
    MessagesApi,
    Stall,
    Text,
    ToolUse,
    unauthorized,
)
from sandwarden.simulator.messages_api import (
    Reply as Scripted,
)
from tests.realcli.harness import claude_env, processes_with

pytestmark = pytest.mark.realcli

QUICK = StopPolicy(grace=0.5, cleanup_timeout=5.0)
SANDBOX = "real-claude"


@dataclass
class Rig:
    """A runtime over the fakes, a sandbox, and the API stand-in."""

    runtime: SandboxRuntime
    name: SandboxName
    workspace: Workspace
    api: MessagesApi

    def run(
        self,
        limits: Limits,
        run: ClaudeRun | None = None,
        stop_on_retry: bool = False,
    ) -> tuple[bytes, ExecResult, list[ApiRetry]]:
        return asyncio.run(self._run(limits, run, stop_on_retry))

    async def _run(
        self, limits: Limits, run: ClaudeRun | None, stop_on_retry: bool
    ) -> tuple[bytes, ExecResult, list[ApiRetry]]:
        started = await self.runtime.exec(
            self.name,
            (run or ClaudeRun()).argv(),
            workdir=self.workspace,
            limits=limits,
            stdin=b"hello through the fakes",
        )
        assert is_successful(started), started
        execution = started.unwrap()
        stdout = bytearray()
        decoder = StreamDecoder()
        retries: list[ApiRetry] = []
        async for chunk in execution.output():
            if chunk.stream is not Stream.STDOUT:
                continue
            stdout += chunk.data
            events: list[Event] = decoder.feed(chunk.data)
            for event in events:
                if type(event) is ApiRetry:
                    retries.append(event)
                    if stop_on_retry and judge_retry(event).stops:
                        await execution.cancel()
        ended = await execution.wait()
        assert is_successful(ended), ended

        return bytes(stdout), ended.unwrap(), retries

    def leftovers(self) -> list[int]:
        """Processes still running with this test's API address."""
        return processes_with(f"ANTHROPIC_BASE_URL={self.api.url}")


@pytest.fixture(params=["docker", "sbx"])
def rig(
    request: pytest.FixtureRequest,
    claude_bin: Path,
    home: Path,
    workspace: Path,
    tmp_path: Path,
) -> Iterator[Rig]:
    tools = FakeTools(tmp_path / "fakes", time_scale=0.01)
    tools.add_sandbox(SANDBOX, workspace)
    with MessagesApi() as api:
        base = claude_env(home, api, extra={CLAUDE_ENV: str(claude_bin)})
        env = tools.environment(base)
        runtime = (
            DockerSandboxCli(env=env, policy=QUICK)
            if request.param == "docker"
            else SbxCli(env=env, policy=QUICK)
        )
        yield Rig(
            runtime,
            SandboxName.parse(SANDBOX).unwrap(),
            Workspace.parse(str(workspace)).unwrap(),
            api,
        )


def script(rig: Rig, *replies: Scripted) -> None:
    rig.api.push(*replies)


def test_a_turn_through_the_adapter_is_answered_by_the_real_cli(
    rig: Rig,
) -> None:
    script(rig, Text("Answered for real.", pieces=4))

    stdout, ended, _ = rig.run(Limits(hard=30.0, inactivity=10.0))

    reply: Reply = decode(stdout)
    assert ended.exit_code == 0
    assert reply.succeeded
    assert reply.text == "Answered for real."
    assert "hello through the fakes" in str(
        rig.api.message_requests[0].json()["messages"]
    )


def test_the_real_tool_runs_in_the_sandbox_workspace(rig: Rig) -> None:
    script(
        rig,
        ToolUse("Bash", {"command": "pwd > where.txt"}, text="Checking."),
        Text("Checked."),
    )

    stdout, _, _ = rig.run(Limits(hard=30.0, inactivity=10.0))

    where = Path(rig.workspace.path) / "where.txt"
    assert decode(stdout).text == "Checked."
    assert Path(where.read_text().strip()).resolve() == where.parent.resolve()


def test_a_stall_inside_the_sandbox_is_stopped_and_cleaned_up(
    rig: Rig,
) -> None:
    script(rig, Stall(after_start=True))

    stdout, ended, _ = rig.run(Limits(hard=30.0, inactivity=2.0))

    assert ended.stopped is Stop.STALLED
    assert b'"subtype":"init"' in stdout
    assert rig.leftovers() == []


def test_a_dead_login_is_stopped_at_its_first_retry_and_leaves_nothing(
    rig: Rig,
) -> None:
    script(rig, unauthorized())

    _, ended, retries = rig.run(Limits(hard=30.0), stop_on_retry=True)

    decision = judge_retry(retries[0])
    assert ended.stopped is Stop.CANCELLED
    assert retries[0].attempt == 1
    assert decision.verdict is RetryVerdict.STOP_DEAD_LOGIN
    assert decision.error is not None
    assert decision.error.kind is ErrorKind.AUTH
    assert rig.leftovers() == []


def test_a_resume_through_the_adapter_continues_the_real_session(
    rig: Rig,
) -> None:
    script(rig, Text("remember me"), Text("remembered"))
    first, _, _ = rig.run(Limits(hard=30.0))
    session = decode(first).resumable_session_id
    assert session is not None

    second, _, _ = rig.run(Limits(hard=30.0), ClaudeRun(resume=session))

    assert decode(second).text == "remembered"
    assert "remember me" in str(rig.api.message_requests[-1].json())
