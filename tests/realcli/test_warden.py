"""
The warden itself over the real Claude CLI, behind the fake ``docker``.

Everything a bot would run is real here except Docker: settings from
``load_settings``, ``bootstrap``, the services, the plugin adapter, the
process runner, the SQLite store and the real claude binary answering
from the Messages API stand-in. The stand-in's dummy API key is why API
key billing is allowed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandwarden.adapters.alerts import CallbackAlerts
from sandwarden.adapters.docker_sandbox import DockerSandboxCli
from sandwarden.adapters.process import StopPolicy
from sandwarden.bootstrap import bootstrap
from sandwarden.domain.errors import ErrorKind
from sandwarden.domain.reply import Reply
from sandwarden.ports import Alert
from sandwarden.service.journal import Note
from sandwarden.settings import load_settings
from sandwarden.simulator.fakes import FakeTools
from sandwarden.simulator.fakes.state import CLAUDE_ENV
from sandwarden.simulator.messages_api import MessagesApi, Text, unauthorized
from sandwarden.warden import Warden
from tests.realcli.harness import claude_env

pytestmark = pytest.mark.realcli

SANDBOX = "real-warden"
QUICK = StopPolicy(grace=0.5, cleanup_timeout=5.0)


@dataclass
class Rig:
    """A warden over the fakes and the real CLI, and what it reported."""

    warden: Warden
    api: MessagesApi
    alerts: list[Alert]
    notes: list[Note]


@pytest.fixture(params=[True, False], ids=["self-heal", "no-heal"])
def rig(
    request: pytest.FixtureRequest,
    claude_bin: Path,
    home: Path,
    workspace: Path,
    tmp_path: Path,
) -> Iterator[Rig]:
    tools = FakeTools(tmp_path / "fakes", time_scale=0.01)
    tools.add_sandbox(SANDBOX, workspace)
    alerts: list[Alert] = []
    notes: list[Note] = []
    with MessagesApi() as api:
        base = claude_env(home, api, extra={CLAUDE_ENV: str(claude_bin)})
        settings = load_settings(
            {
                "SANDWARDEN_STATE_DIR": str(tmp_path / "state"),
                "SANDBOX_ALLOW_API_KEY_AUTH": "true",
                "SANDBOX_SELF_HEAL": "true" if request.param else "false",
                # a turn here takes about a second: small, not tight
                "SANDBOX_PROMPT_TIMEOUT_MS": "60000",
                "SANDBOX_PROMPT_INACTIVITY_TIMEOUT_MS": "20000",
                "SANDBOX_PROBE_TIMEOUT_MS": "20000",
            },
            {
                "sandbox": SANDBOX,
                "workspace": str(workspace),
                "runtime": "docker",
            },
            str(workspace),
            str(home),
        ).unwrap()
        runtime = DockerSandboxCli(
            env=tools.environment(base),
            policy=QUICK,
            allow_api_key=True,
        )
        warden = bootstrap(
            settings,
            runtime=runtime,
            alerts=CallbackAlerts(alerts.append),
        ).unwrap()
        warden.subscribe(notes.append)
        try:
            yield Rig(warden, api, alerts, notes)
        finally:
            warden.close()


def test_a_conversation_is_answered_live_and_resumed(rig: Rig) -> None:
    rig.api.push(Text("First answer.", pieces=3), Text("Second answer."))
    pieces: list[str] = []

    async def two_turns() -> tuple[Reply, Reply, str | None]:
        warden = rig.warden
        first = await warden.ask(
            "hello warden", conversation="chat", on_text=pieces.append
        )
        second = await warden.ask("again", conversation="chat")
        stored = await warden.services.deps.store.conversation("chat")
        known = stored.unwrap()
        return (
            first.unwrap(),
            second.unwrap(),
            None if known is None else known.session_id.value,
        )

    first, second, stored = asyncio.run(two_turns())

    assert first.text == "First answer."
    assert "".join(pieces) == "First answer."
    assert second.text == "Second answer."
    assert stored == second.session_id
    # the second turn went out as a resume: the API saw the first turn
    assert "hello warden" in str(rig.api.message_requests[-1].json())


def test_a_dead_login_fails_fast_as_auth_and_heals(rig: Rig) -> None:
    rig.api.push(unauthorized())

    reply = asyncio.run(rig.warden.ask("hello"))

    error = reply.failure()
    assert error.kind is ErrorKind.AUTH
    # the CLI alone retries a 401 ten times over minutes (eleven
    # requests); the warden stops it at its first retry: a start-up
    # request of the CLI's own, the turn's request and one retry
    assert len(rig.api.message_requests) <= 3
    heals = [n for n in rig.notes if n.topic == "heal"]
    if not rig.warden.config.self_heal:
        assert heals == []
        assert rig.alerts == []
        return
    # no other sandbox and no template: the heal ends on this sandbox,
    # waiting for a login, and pages once with the plugin's command
    assert heals
    assert [alert.code for alert in rig.alerts] == ["login_needed"]
    login = f"`docker sandbox exec -it {SANDBOX} claude`"
    assert login in (rig.alerts[0].action or "")
    assert login in error.message
