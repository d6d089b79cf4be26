"""
The real Claude CLI, run directly against the Messages API stand-in.

Everything here is real except the model: the binary, its argv as the
warden builds it, its pipes and signals, its stream-json, and the
warden's decoder, reply, auth parser, billing guard and retry policy
reading that output.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from returns.pipeline import is_successful

from sandwarden.adapters.process import StopPolicy, start
from sandwarden.domain.auth import (
    check_api_key_source,
    check_billing,
    parse_auth_status,
)
from sandwarden.domain.deadlines import Limits, Stop
from sandwarden.domain.errors import ErrorKind
from sandwarden.domain.events import ApiRetry, Event, SystemInit
from sandwarden.domain.invocation import ClaudeRun, auth_status_argv
from sandwarden.domain.live_text import LiveText
from sandwarden.domain.retries import RetryVerdict, judge_retry
from sandwarden.domain.sandbox import ExecResult, Stream
from sandwarden.domain.stream import StreamDecoder
from sandwarden.domain.values import SessionId
from sandwarden.simulator.messages_api import (
    Malformed,
    MessagesApi,
    Reply,
    Stall,
    Text,
    ToolUse,
    overloaded,
    unauthorized,
    usage_limit_reached,
)
from tests.realcli.harness import (
    claude_env,
    print_argv,
    processes_with,
    run_claude,
)

pytestmark = pytest.mark.realcli

#: Small limits: a healthy turn prints its init within a second.
QUICK = StopPolicy(grace=0.5, cleanup_timeout=1.0)


def resume(session: str) -> ClaudeRun:
    return ClaudeRun(resume=SessionId.parse(session).unwrap())


def test_a_plain_turn_answers_with_the_scripted_text(
    claude_bin: Path, home: Path, workspace: Path
) -> None:
    with MessagesApi([Text("Hello from the stand-in.", pieces=3)]) as api:
        ran = run_claude(
            print_argv(claude_bin),
            env=claude_env(home, api),
            cwd=workspace,
            prompt="say hello",
        )
        sent = api.message_requests

    reply = ran.reply()
    assert ran.exit_code == 0
    assert reply.succeeded
    assert reply.text == "Hello from the stand-in."
    assert reply.session_id == reply.init_session_id
    assert sent[0].json()["stream"] is True
    assert "say hello" in str(sent[0].json()["messages"])


def test_a_tool_call_runs_the_real_tool_in_the_workspace(
    claude_bin: Path, home: Path, workspace: Path
) -> None:
    script: list[Reply] = [
        ToolUse("Bash", {"command": "echo made > made.txt"}, text="Making."),
        Text("Made it."),
    ]
    with MessagesApi(script) as api:
        ran = run_claude(
            print_argv(claude_bin),
            env=claude_env(home, api),
            cwd=workspace,
            prompt="make a file",
        )
        second = api.message_requests[1].json()

    assert ran.reply().text == "Made it."
    assert (workspace / "made.txt").read_text() == "made\n"
    assert "tool_result" in str(second["messages"])


def test_a_resumed_session_carries_its_history_and_its_id_resumes_again(
    claude_bin: Path, home: Path, workspace: Path
) -> None:
    script = [Text("first answer"), Text("second answer"), Text("third")]
    with MessagesApi(script) as api:
        env = claude_env(home, api)
        first = run_claude(
            print_argv(claude_bin), env=env, cwd=workspace, prompt="one"
        ).reply()
        second = run_claude(
            print_argv(claude_bin, resume(str(first.session_id))),
            env=env,
            cwd=workspace,
            prompt="two",
        ).reply()
        third = run_claude(
            print_argv(claude_bin, resume(str(second.session_id))),
            env=env,
            cwd=workspace,
            prompt="three",
        ).reply()
        last_request = str(api.message_requests[-1].json()["messages"])

    assert (second.text, third.text) == ("second answer", "third")
    assert second.resumable_session_id is not None
    assert "first answer" in last_request
    assert "second answer" in last_request


def test_resuming_an_unknown_session_is_session_not_found(
    claude_bin: Path, home: Path, workspace: Path
) -> None:
    unknown = str(uuid.uuid4())
    with MessagesApi() as api:
        ran = run_claude(
            print_argv(claude_bin, resume(unknown)),
            env=claude_env(home, api),
            cwd=workspace,
            prompt="hello again",
        )
        asked = api.message_requests

    reply = ran.reply()
    assert ran.exit_code == 1
    assert reply.error_kind is ErrorKind.SESSION_NOT_FOUND
    assert reply.resumable_session_id is None
    assert b"No conversation found" in ran.stderr
    assert asked == ()


def test_a_logged_out_run_is_an_auth_error(
    claude_bin: Path, home: Path, workspace: Path
) -> None:
    with MessagesApi() as api:
        ran = run_claude(
            print_argv(claude_bin),
            env=claude_env(home, api, api_key=False),
            cwd=workspace,
            prompt="hello",
        )

    reply = ran.reply()
    assert ran.exit_code == 1
    assert reply.error_kind is ErrorKind.AUTH
    assert reply.api_key_source == "none"


# (credential in the environment, logged in, expected login method)
AuthForm = tuple[dict[str, str], bool, str]
LOGGED_OUT: AuthForm = ({}, False, "none")
API_KEY: AuthForm = (
    {"ANTHROPIC_API_KEY": "sk-ant-api03-dummy"},
    True,
    "api_key",
)
OAUTH: AuthForm = (
    {"CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-x"},
    True,
    "oauth",
)


@pytest.mark.parametrize(
    ("form", "as_json"),
    [
        pytest.param(LOGGED_OUT, True, id="logged-out-json"),
        pytest.param(API_KEY, True, id="api-key-json"),
        pytest.param(OAUTH, True, id="oauth-token-json"),
        pytest.param(LOGGED_OUT, False, id="logged-out-text"),
        pytest.param(API_KEY, False, id="api-key-text"),
        pytest.param(OAUTH, False, id="oauth-token-text"),
    ],
)
def test_auth_status_in_its_real_forms_is_understood(
    claude_bin: Path,
    home: Path,
    workspace: Path,
    form: AuthForm,
    as_json: bool,
) -> None:
    credential, logged_in, method = form
    argv = [str(claude_bin), *auth_status_argv(json=as_json)[1:]]
    if not as_json:
        argv.append("--text")

    ran = run_claude(
        argv, env=claude_env(home, extra=credential), cwd=workspace
    )

    parsed = parse_auth_status(
        ran.stdout.decode(), ran.stderr.decode(), ran.exit_code
    )
    assert is_successful(parsed), parsed
    status = parsed.unwrap()
    assert ran.exit_code == (0 if logged_in else 1)
    assert status.logged_in is logged_in
    assert method in (status.auth_method or "none")
    api_key = "ANTHROPIC_API_KEY" in credential
    assert is_successful(check_billing(status, allow_api_key=False)) == (
        not api_key
    )
    assert is_successful(check_billing(status, allow_api_key=True))


def test_the_billing_guard_reads_the_real_init_event(
    claude_bin: Path, home: Path, workspace: Path
) -> None:
    script: list[Reply] = [Text("paid by key"), Text("paid by plan")]
    with MessagesApi(script) as api:
        by_key = run_claude(
            print_argv(claude_bin),
            env=claude_env(home, api),
            cwd=workspace,
            prompt="hi",
        )
        by_token = run_claude(
            print_argv(claude_bin),
            env=claude_env(
                home,
                api,
                api_key=False,
                extra={"CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-dummy"},
            ),
            cwd=workspace,
            prompt="hi",
        )

    key_source = _init(by_key.events()).api_key_source
    token_source = _init(by_token.events()).api_key_source
    refused = check_api_key_source(key_source, allow_api_key=False)
    assert key_source == "ANTHROPIC_API_KEY"
    assert not is_successful(refused)
    assert refused.failure().kind is ErrorKind.BILLING_GUARD
    assert is_successful(check_api_key_source(key_source, allow_api_key=True))
    assert token_source == "none"
    assert is_successful(
        check_api_key_source(token_source, allow_api_key=False)
    )


def test_partial_messages_show_each_text_exactly_once(
    claude_bin: Path, home: Path, workspace: Path
) -> None:
    script: list[Reply] = [
        ToolUse("Bash", {"command": "true"}, text="Looking around first."),
        Text("Everything is in order.", pieces=6),
    ]
    with MessagesApi(script) as api:
        ran = run_claude(
            print_argv(claude_bin, ClaudeRun(partial_messages=True)),
            env=claude_env(home, api),
            cwd=workspace,
            prompt="check",
        )

    live = LiveText()
    shown = "".join(live.feed(event) for event in ran.events())
    assert ran.of_type("stream_event"), "the CLI sent no partial messages"
    assert shown.count("Looking around first.") == 1
    assert shown.count("Everything is in order.") == 1


def test_a_silent_api_is_stopped_by_the_inactivity_limit(
    claude_bin: Path, home: Path, workspace: Path
) -> None:
    with MessagesApi([Stall(after_start=True)]) as api:
        events, ended = asyncio.run(
            _drive(
                print_argv(claude_bin),
                claude_env(home, api),
                workspace,
                Limits(hard=20.0, inactivity=2.0),
            )
        )
        asked = len(api.message_requests)

    assert ended.stopped is Stop.STALLED
    assert any(type(e) is SystemInit for e in events)
    assert asked >= 1


def test_a_cancel_leaves_no_real_claude_process(
    claude_bin: Path, home: Path, workspace: Path
) -> None:
    marker = f"SANDWARDEN_RUN={uuid.uuid4()}"
    name, value = marker.split("=", 1)
    with MessagesApi([Stall()]) as api:
        env = claude_env(home, api, extra={name: value})
        pid = asyncio.run(
            _cancel_when_asked(print_argv(claude_bin), env, workspace, api)
        )

    assert not Path(f"/proc/{pid}").exists()
    assert processes_with(marker) == []


def test_a_dead_login_is_stopped_at_its_first_retry(
    claude_bin: Path, home: Path, workspace: Path
) -> None:
    with MessagesApi([unauthorized()]) as api:
        retries, ended = asyncio.run(
            _stop_on_verdict(
                print_argv(claude_bin), claude_env(home, api), workspace
            )
        )

    first = retries[0]
    decision = judge_retry(first)
    assert (first.error_status, first.error) == (401, "authentication_failed")
    assert first.attempt == 1
    assert decision.verdict is RetryVerdict.STOP_DEAD_LOGIN
    assert decision.error is not None
    assert decision.error.kind is ErrorKind.AUTH
    assert ended is Stop.CANCELLED


def test_an_overload_that_clears_is_left_to_the_cli(
    claude_bin: Path, home: Path, workspace: Path
) -> None:
    with MessagesApi([overloaded(), Text("back again")]) as api:
        ran = run_claude(
            print_argv(claude_bin),
            env=claude_env(home, api),
            cwd=workspace,
            prompt="hi",
        )

    retries = [e for e in ran.events() if type(e) is ApiRetry]
    assert [r.error_status for r in retries] == [529]
    assert judge_retry(retries[0], remaining=20.0).verdict is (
        RetryVerdict.CONTINUE
    )
    assert ran.reply().text == "back again"


def test_a_malformed_api_event_ends_in_an_error_reply_not_a_crash(
    claude_bin: Path, home: Path, workspace: Path
) -> None:
    with MessagesApi([Malformed()]) as api:
        ran = run_claude(
            print_argv(claude_bin),
            env=claude_env(home, api),
            cwd=workspace,
            prompt="hi",
        )

    reply = ran.reply()
    assert not reply.succeeded
    assert reply.error_kind is not None
    assert b"Could not parse message into JSON" in ran.stderr


def test_a_spent_plan_quota_is_a_usage_limit_the_warden_does_not_retry(
    claude_bin: Path, home: Path, workspace: Path
) -> None:
    resets_at = int(time.time()) + 3 * 3600
    with MessagesApi([usage_limit_reached(resets_at)]) as api:
        ran = run_claude(
            print_argv(claude_bin),
            env=claude_env(
                home,
                api,
                api_key=False,
                extra={"CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-dummy"},
            ),
            cwd=workspace,
            prompt="hi",
        )
        asked = len(api.message_requests)

    reply = ran.reply()
    assert reply.error_kind is ErrorKind.USAGE_LIMIT
    assert reply.rate_limit is not None
    assert reply.rate_limit.status == "rejected"
    assert "limit" in reply.text
    assert asked == 1


def _init(events: list[Event]) -> SystemInit:
    return next(e for e in events if type(e) is SystemInit)


async def _drive(
    argv: list[str], env: dict[str, str], cwd: Path, limits: Limits
) -> tuple[list[Event], ExecResult]:
    started = await start(
        argv,
        limits=limits,
        stdin=b"hello",
        env=env,
        cwd=str(cwd),
        policy=QUICK,
    )
    execution = started.unwrap()
    decoder = StreamDecoder()
    events: list[Event] = []
    async for chunk in execution.output():
        if chunk.stream is Stream.STDOUT:
            events += decoder.feed(chunk.data)
    ended = (await execution.wait()).unwrap()

    return events, ended


async def _cancel_when_asked(
    argv: list[str], env: dict[str, str], cwd: Path, api: MessagesApi
) -> int:
    execution = (
        await start(
            argv,
            limits=Limits(hard=20.0),
            stdin=b"hello",
            env=env,
            cwd=str(cwd),
            policy=QUICK,
        )
    ).unwrap()
    pid = execution.pid
    for _ in range(200):  # up to 10 s for the CLI to reach the API
        if api.message_requests:
            break
        await asyncio.sleep(0.05)
    assert api.message_requests, "the CLI never called the API"

    await execution.cancel()
    ended = (await execution.wait()).unwrap()
    assert ended.stopped is Stop.CANCELLED

    return pid


async def _stop_on_verdict(
    argv: list[str], env: dict[str, str], cwd: Path
) -> tuple[list[ApiRetry], Stop | None]:
    """Run until the retry policy says stop, the way the service does."""
    execution = (
        await start(
            argv,
            limits=Limits(hard=20.0),
            stdin=b"hello",
            env=env,
            cwd=str(cwd),
            policy=QUICK,
        )
    ).unwrap()
    decoder = StreamDecoder()
    retries: list[ApiRetry] = []
    async for chunk in execution.output():
        if chunk.stream is not Stream.STDOUT:
            continue
        for event in decoder.feed(chunk.data):
            if type(event) is ApiRetry:
                retries.append(event)
                if judge_retry(event).stops:
                    await execution.cancel()
    ended = (await execution.wait()).unwrap()

    return retries, ended.stopped
