"""bootstrap: the deadlines and guards it derives from the settings."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Mapping
from pathlib import Path

import pytest
from returns.pipeline import is_successful
from returns.result import Result, Success

from sandwarden.adapters.docker_sandbox import ToolTimeouts
from sandwarden.bootstrap import bootstrap, tool_timeouts
from sandwarden.domain.conversation import Conversation
from sandwarden.domain.deadlines import Limits
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.values import SandboxName, SessionId
from sandwarden.settings import Settings, load_settings

HOME = "/home/op"
CWD = "/srv/bot"


def settings(environ: Mapping[str, str], cwd: str = CWD) -> Settings:
    return load_settings(environ, {}, cwd, HOME).unwrap()


def test_by_default_questions_get_the_adapters_short_deadline() -> None:
    timeouts = tool_timeouts(settings({}))

    assert timeouts == ToolTimeouts(query=20.0, change=180.0, probe=30.0)


def test_the_tool_timeout_bounds_changes_but_not_questions() -> None:
    timeouts = tool_timeouts(
        settings({"SANDWARDEN_TOOL_TIMEOUT_MS": "600000"})
    )

    assert timeouts.change == 600.0
    assert timeouts.query == 20.0


def test_a_short_probe_timeout_shortens_questions_and_inside_calls() -> None:
    timeouts = tool_timeouts(settings({"SANDBOX_PROBE_TIMEOUT_MS": "5000"}))

    assert timeouts.query == 5.0
    assert timeouts.probe == 5.0
    assert timeouts.change == 180.0


def test_a_short_tool_timeout_also_bounds_questions() -> None:
    timeouts = tool_timeouts(settings({"SANDWARDEN_TOOL_TIMEOUT_MS": "3000"}))

    assert timeouts.query == 3.0
    assert timeouts.change == 3.0


def test_the_image_deadline_keeps_the_adapters_default() -> None:
    timeouts = tool_timeouts(settings({"SANDWARDEN_TOOL_TIMEOUT_MS": "3000"}))

    assert timeouts.image == ToolTimeouts().image


def _hanging_tool(directory: Path) -> Path:
    """A `docker` that answers nothing, as over a wedged daemon."""
    tool = directory / "docker"
    tool.write_text("#!/bin/sh\nexec sleep 30\n")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)

    return tool


@pytest.mark.parametrize("runtime", ["docker", "sbx"])
def test_a_probe_over_a_wedged_tool_fails_within_the_query_deadline(
    tmp_path: Path, runtime: str
) -> None:
    tool = _hanging_tool(tmp_path)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    chosen = settings(
        {
            "SANDWARDEN_RUNTIME": runtime,
            "SANDWARDEN_DOCKER": str(tool),
            "SANDWARDEN_SBX": str(tool),
            "SANDWARDEN_STATE_DIR": str(tmp_path / "state"),
            # Sized for create: a probe must not wait for it.
            "SANDWARDEN_TOOL_TIMEOUT_MS": "60000",
            "SANDBOX_PROBE_TIMEOUT_MS": "300",
            "SANDWARDEN_GRACE_MS": "100",
        },
        cwd=str(workspace),
    )
    warden = bootstrap(chosen).unwrap()

    try:
        probed = asyncio.run(warden.probe())
    finally:
        warden.close()

    error = probed.failure()
    assert error.reason is UnavailableReason.WEDGED
    assert "within 0.3 s" in error.message


@pytest.mark.parametrize("allowed", [False, True])
@pytest.mark.parametrize("runtime", ["docker", "sbx", "sim"])
def test_the_api_key_setting_reaches_the_runtimes_exec(
    tmp_path: Path, runtime: str, allowed: bool
) -> None:
    chosen = settings(
        {
            "SANDWARDEN_RUNTIME": runtime,
            # A tool that is not there: an allowed exec gets as far as
            # looking for it, a refused one does not.
            "SANDWARDEN_DOCKER": str(tmp_path / "absent" / "docker"),
            "SANDWARDEN_SBX": str(tmp_path / "absent" / "sbx"),
            "SANDWARDEN_STATE_DIR": str(tmp_path / "state"),
            "SANDBOX_ALLOW_API_KEY_AUTH": str(allowed).lower(),
        },
    )
    warden = bootstrap(chosen).unwrap()
    deps = warden.services.deps

    async def started() -> Result[object, WardenError]:
        return await deps.runtime.exec(
            chosen.sandbox,
            ("true",),
            workdir=chosen.workspace,
            limits=Limits(5.0),
            env={"ANTHROPIC_API_KEY": "x"},
        )

    try:
        outcome = asyncio.run(started())
    finally:
        warden.close()

    refused = (
        not is_successful(outcome)
        and outcome.failure().kind is ErrorKind.BILLING_GUARD
    )
    assert refused is not allowed


@pytest.mark.parametrize("enabled", [False, True])
def test_the_watchdog_setting_reaches_the_embedders_watch(
    tmp_path: Path, enabled: bool
) -> None:
    chosen = settings(
        {
            "SANDWARDEN_RUNTIME": "sim",
            "SANDWARDEN_STATE_DIR": str(tmp_path / "state"),
            "SANDBOX_HEALTH_WATCHDOG_ENABLED": str(enabled).lower(),
        },
    )
    warden = bootstrap(chosen).unwrap()

    try:
        done = asyncio.run(warden.watch(checks=1))
    finally:
        warden.close()

    assert warden.config.watchdog_enabled is enabled
    assert done == (1 if enabled else 0)


def _state_of(tmp_path: Path, sandbox: str) -> Settings:
    return settings(
        {
            "SANDWARDEN_RUNTIME": "docker",
            "SANDWARDEN_DOCKER": str(tmp_path / "absent" / "docker"),
            "SANDWARDEN_STATE_DIR": str(tmp_path / "state"),
            "CLAUDE_SANDBOX_NAME": sandbox,
        },
    )


async def _remember(chosen: Settings, active: str) -> None:
    warden = bootstrap(chosen).unwrap()
    store = warden.services.deps.store
    try:
        await store.set_active_sandbox(SandboxName(active))
        await store.save_conversation(
            Conversation(
                key="chat",
                sandbox=SandboxName(active),
                session_id=SessionId.parse(
                    "0f8fad5b-d9cb-469f-a165-70867728950e"
                ).unwrap(),
                last_used=1.0,
            ),
        )
        assert await store.acquire_heal_lock("writer", 60.0) == Success(True)
    finally:
        warden.close()


async def _recall(
    chosen: Settings,
) -> tuple[SandboxName | None, Conversation | None, bool]:
    warden = bootstrap(chosen).unwrap()
    store = warden.services.deps.store
    try:
        active = (await store.active_sandbox()).unwrap()
        conversation = (await store.conversation("chat")).unwrap()
        free = (await store.acquire_heal_lock("reader", 60.0)).unwrap()
    finally:
        warden.close()

    return active, conversation, free


def test_wardens_of_different_sandboxes_keep_separate_state(
    tmp_path: Path,
) -> None:
    asyncio.run(_remember(_state_of(tmp_path, "bot"), "bot-heal"))

    active, conversation, free = asyncio.run(
        _recall(_state_of(tmp_path, "other"))
    )

    assert active is None
    assert conversation is None
    assert free is True


def test_wardens_of_the_same_sandbox_share_their_state(
    tmp_path: Path,
) -> None:
    asyncio.run(_remember(_state_of(tmp_path, "bot"), "bot-heal"))

    active, conversation, free = asyncio.run(
        _recall(_state_of(tmp_path, "bot"))
    )

    assert active == SandboxName("bot-heal")
    assert conversation is not None
    assert conversation.sandbox == SandboxName("bot-heal")
    assert free is False


def test_each_sandbox_has_its_own_state_file_in_the_state_directory(
    tmp_path: Path,
) -> None:
    chosen = _state_of(tmp_path, "bot")

    bootstrap(chosen).unwrap().close()

    assert chosen.state_file == str(tmp_path / "state" / "bot.sqlite3")
    assert (tmp_path / "state" / "bot.sqlite3").is_file()


@pytest.mark.parametrize("name", ["bot_1", "default", "a"])
def test_a_sandbox_name_sbx_forbids_is_refused_before_anything_runs(
    tmp_path: Path, name: str
) -> None:
    chosen = settings(
        {
            "SANDWARDEN_RUNTIME": "sbx",
            "SANDWARDEN_SBX": str(tmp_path / "absent" / "sbx"),
            "SANDWARDEN_STATE_DIR": str(tmp_path / "state"),
            "CLAUDE_SANDBOX_NAME": name,
        },
    )

    built = bootstrap(chosen)

    assert not is_successful(built)
    assert built.failure().kind is ErrorKind.INVALID_INPUT
    assert f"{name!r} is not allowed by sbx" in built.failure().message
    assert not (tmp_path / "state").exists()


def test_the_same_name_is_fine_for_the_plugin(tmp_path: Path) -> None:
    chosen = settings(
        {
            "SANDWARDEN_RUNTIME": "docker",
            "SANDWARDEN_DOCKER": str(tmp_path / "absent" / "docker"),
            "SANDWARDEN_STATE_DIR": str(tmp_path / "state"),
            "CLAUDE_SANDBOX_NAME": "bot_1",
        },
    )

    built = bootstrap(chosen)

    assert is_successful(built)
    built.unwrap().close()
