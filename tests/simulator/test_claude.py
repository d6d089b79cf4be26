import json

from hypothesis import given
from hypothesis import strategies as st

from sandwarden.simulator.claude import (
    NEEDS_VERBOSE,
    NOT_LOGGED_IN,
    OAUTH_EXPIRED,
    parse_claude_args,
    plan_claude,
)
from sandwarden.simulator.scripts import Script
from sandwarden.simulator.world import (
    Behaviour,
    ClaudeCli,
    Login,
    LoginMethod,
    Plan,
    Sandbox,
    World,
)

RUN = [
    "-p",
    "--output-format",
    "stream-json",
    "--verbose",
    "--permission-mode",
    "bypassPermissions",
]


def _world() -> tuple[World, Sandbox]:
    world = World(seed=3)
    sandbox = Sandbox("main", ["/srv/app"])
    world.sandboxes["main"] = sandbox

    return world, sandbox


def _ask(
    world: World,
    sandbox: Sandbox,
    prompt: str,
    extra: list[str] | None = None,
    now: float = 0.0,
) -> Script:
    return plan_claude(
        world,
        sandbox,
        [*RUN, *(extra or [])],
        stdin=prompt.encode(),
        workdir="/srv/app",
        now=now,
    )


def _lines(script: Script) -> list[dict[str, object]]:
    return [
        json.loads(line)
        for line in script.stdout().splitlines()
        if line.startswith(b"{")
    ]


def test_a_normal_run_prints_init_assistant_and_a_successful_result() -> None:
    world, sandbox = _world()

    script = _ask(world, sandbox, "hello there")

    lines = _lines(script)
    assert [line["type"] for line in lines] == [
        "system",
        "assistant",
        "result",
    ]
    assert lines[0]["apiKeySource"] == "none"
    assert lines[-1]["is_error"] is False
    assert "hello there" in str(lines[-1]["result"])
    assert script.exit_code == 0
    assert lines[-1]["session_id"] in sandbox.sessions


def test_a_resumed_session_remembers_earlier_prompts() -> None:
    world, sandbox = _world()
    first = _ask(world, sandbox, "the code word is PELICAN")
    second = _ask(
        world, sandbox, "what was it?", [f"--resume={first.session_id}"]
    )

    result = _lines(second)[-1]
    assert "PELICAN" in str(result["result"])
    assert result["session_id"] == first.session_id


def test_resuming_an_unknown_session_answers_as_the_real_cli_does() -> None:
    world, sandbox = _world()

    script = _ask(world, sandbox, "hi", ["--resume", "0000-gone"])

    (line,) = _lines(script)
    sentence = "No conversation found with session ID: 0000-gone"
    assert line["subtype"] == "error_during_execution"
    assert line["errors"] == [sentence]
    assert "result" not in line
    assert script.stderr() == (sentence + "\n").encode()
    assert script.exit_code == 1


def test_a_logged_out_sandbox_fails_with_the_synthetic_message() -> None:
    world, sandbox = _world()
    sandbox.login = Login(LoginMethod.NONE)

    script = _ask(world, sandbox, "hi")

    assistant, result = _lines(script)
    assert assistant["error"] == "authentication_failed"
    assert result["is_error"] is True
    assert result["result"] == NOT_LOGGED_IN
    assert script.exit_code == 1


def test_an_expired_token_says_so_and_an_api_key_shows_in_init() -> None:
    world, sandbox = _world()
    sandbox.login = Login(expires_at=10.0)

    expired = _ask(world, sandbox, "hi", now=10.0)
    sandbox.login.api_key_fallback = True
    keyed = _ask(world, sandbox, "hi", now=10.0)

    assert _lines(expired)[-1]["result"] == OAUTH_EXPIRED
    assert _lines(keyed)[0]["apiKeySource"] == "ANTHROPIC_API_KEY"


def test_stream_json_without_verbose_is_refused_on_stderr() -> None:
    world, sandbox = _world()

    script = plan_claude(
        world,
        sandbox,
        ["-p", "--output-format=stream-json"],
        stdin=b"hi",
        workdir="/srv/app",
        now=0.0,
    )

    assert script.stderr() == (NEEDS_VERBOSE + "\n").encode()
    assert script.exit_code == 1


def test_without_bypass_permissions_the_run_hangs_silently() -> None:
    world, sandbox = _world()

    script = plan_claude(
        world,
        sandbox,
        ["-p", "--output-format", "stream-json", "--verbose"],
        stdin=b"hi",
        workdir="/srv/app",
        now=0.0,
    )

    assert script.steps == ()
    assert script.exit_code is None


def test_partial_messages_stream_the_reply_as_text_deltas() -> None:
    world, sandbox = _world()

    script = _ask(world, sandbox, "stream me", ["--include-partial-messages"])

    deltas = [
        line["event"]["delta"]["text"]  # type: ignore[index]
        for line in _lines(script)
        if line["type"] == "stream_event"
        and line["event"]["type"] == "content_block_delta"  # type: ignore[index]
    ]
    assert "".join(deltas) == "You said: stream me"


def test_queued_plans_are_played_in_order_then_the_default() -> None:
    world, sandbox = _world()
    sandbox.plans = [Plan(Behaviour.HANG), Plan(Behaviour.EXIT_AFTER_RESULT)]

    hang, late, normal = (_ask(world, sandbox, "x") for _ in range(3))

    assert (hang.steps, hang.exit_code) == ((), None)
    assert _lines(late)[-1]["is_error"] is False
    assert late.exit_code == 1
    assert normal.exit_code == 0


def test_an_oversized_line_is_one_line_of_the_planned_size() -> None:
    world, sandbox = _world()
    sandbox.plans = [Plan(Behaviour.OVERSIZED_LINE, size=3_000_000)]

    script = _ask(world, sandbox, "x")

    longest = max(script.stdout().split(b"\n"), key=len)
    assert len(longest) > 2 * 3_000_000


def test_auth_status_json_and_its_absence_on_old_clis() -> None:
    world, sandbox = _world()
    status = ["auth", "status", "--json"]

    fresh = plan_claude(
        world, sandbox, status, stdin=b"", workdir="/srv/app", now=0.0
    )
    sandbox.claude = ClaudeCli(version="2.1.30", auth_json=False)
    old = plan_claude(
        world, sandbox, status, stdin=b"", workdir="/srv/app", now=0.0
    )

    assert json.loads(fresh.stdout())["loggedIn"] is True
    assert old.stderr() == b"error: unknown option '--json'\n"
    assert old.exit_code == 1


def test_a_logged_out_auth_status_exits_1_with_json_on_stdout() -> None:
    world, sandbox = _world()
    sandbox.login = Login(LoginMethod.NONE)

    script = plan_claude(
        world,
        sandbox,
        ["auth", "status"],
        stdin=b"",
        workdir="/srv/app",
        now=0.0,
    )

    assert json.loads(script.stdout())["loggedIn"] is False
    assert script.exit_code == 1


@given(st.lists(st.sampled_from(["-p", "--verbose", "--model", "x", "--"])))
def test_argv_parsing_never_raises(argv: list[str]) -> None:
    parsed = parse_claude_args(argv)

    assert isinstance(parsed, str) or isinstance(parsed.words, tuple)


def test_a_result_then_hang_run_prints_a_whole_success_and_never_exits() -> (
    None
):
    world, sandbox = _world()
    sandbox.plans = [Plan(Behaviour.RESULT_THEN_HANG)]

    script = _ask(world, sandbox, "x")

    last = _lines(script)[-1]
    assert (last["type"], last["is_error"]) == ("result", False)
    assert script.exit_code is None
