from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.pipeline import is_successful

from sandwarden.domain.errors import ErrorKind
from sandwarden.domain.invocation import (
    ClaudeRun,
    Dialect,
    auth_status_argv,
    exec_argv,
    forwarded_env,
    git_head_argv,
)
from sandwarden.domain.values import SandboxName, SessionId, Workspace

NAME = SandboxName.parse("bot-sandbox").unwrap()
WORKSPACE = Workspace.parse("/srv/bot workspace").unwrap()
SESSION = SessionId.parse("4f1c2a9e-0b7d-4c1e-9a55-1f0e2d3c4b5a").unwrap()

REQUIRED = (
    "claude",
    "-p",
    "--permission-mode",
    "bypassPermissions",
    "--verbose",
    "--output-format",
    "stream-json",
)


def test_a_plain_run_has_exactly_the_required_flags() -> None:
    assert ClaudeRun().argv() == REQUIRED


def test_every_option_lands_on_the_command_line() -> None:
    run = ClaudeRun(
        model="claude-sonnet-4-6",
        system_prompt="You are terse.",
        append_system_prompt="Answer in French.",
        resume=SESSION,
        partial_messages=True,
        max_turns=5,
        max_budget_usd=0.5,
    )

    argv = run.argv()

    assert argv[: len(REQUIRED)] == REQUIRED
    assert argv[len(REQUIRED) :] == (
        "--model",
        "claude-sonnet-4-6",
        "--system-prompt",
        "You are terse.",
        "--append-system-prompt",
        "Answer in French.",
        f"--resume={SESSION}",
        "--include-partial-messages",
        "--max-turns",
        "5",
        "--max-budget-usd",
        "0.5",
    )


def test_resume_is_one_token_so_an_id_is_never_read_as_a_flag() -> None:
    argv = ClaudeRun(resume=SESSION).argv()

    resume = [item for item in argv if item.startswith("--resume")]
    assert resume == [f"--resume={SESSION}"]


def test_a_system_prompt_with_spaces_stays_one_argument() -> None:
    prompt = "Be brief; use 'quotes' and $HOME literally"

    argv = ClaudeRun(system_prompt=prompt).argv()

    assert argv[argv.index("--system-prompt") + 1] == prompt


def test_a_run_has_no_place_for_the_prompt() -> None:
    fields = {field.name for field in dataclasses.fields(ClaudeRun)}

    assert fields == {
        "model",
        "system_prompt",
        "append_system_prompt",
        "resume",
        "partial_messages",
        "max_turns",
        "max_budget_usd",
    }


@given(
    prompt=st.text(min_size=1).map(lambda text: "Question: " + text),
    model=st.none() | st.sampled_from(["opus", "claude-sonnet-4-6"]),
    partial=st.booleans(),
    turns=st.none() | st.integers(1, 1000),
    dialect=st.sampled_from(Dialect),
)
def test_no_prompt_ever_reaches_argv(
    prompt: str,
    model: str | None,
    partial: bool,
    turns: int | None,
    dialect: Dialect,
) -> None:
    run = ClaudeRun(model=model, partial_messages=partial, max_turns=turns)

    command = exec_argv(
        dialect,
        NAME,
        WORKSPACE,
        run.argv(),
        interactive=True,
    )

    assert not any(prompt in item for item in command)
    assert not any(item.startswith("Question: ") for item in command)


@pytest.mark.parametrize(
    ("fields", "mentioned"),
    [
        ({"model": ""}, "model"),
        ({"model": "--dangerously-skip-permissions"}, "model"),
        ({"model": "opus 4"}, "model"),
        ({"max_turns": 0}, "max turns"),
        ({"max_budget_usd": 0.0}, "max budget"),
        ({"max_budget_usd": float("nan")}, "max budget"),
        ({"system_prompt": "a\x00b"}, "NUL"),
        ({"system_prompt": "x" * 200_000}, "MAX_ARG_STRLEN"),
    ],
)
def test_unusable_fields_are_refused_with_a_reason(
    fields: dict[str, object],
    mentioned: str,
) -> None:
    result = ClaudeRun.parse(**fields)  # type: ignore[arg-type]

    error = result.failure()
    assert error.kind is ErrorKind.INVALID_INPUT
    assert mentioned in error.message


def test_the_constructor_refuses_the_same_values() -> None:
    with pytest.raises(ValueError, match="max turns"):
        ClaudeRun(max_turns=-1)


def test_parse_builds_a_usable_run() -> None:
    run = ClaudeRun.parse(model="opus", max_turns=3).unwrap()

    assert run.argv()[-4:] == ("--model", "opus", "--max-turns", "3")


def test_docker_sandbox_exec_has_the_plugin_shape() -> None:
    argv = exec_argv(
        Dialect.DOCKER_SANDBOX,
        NAME,
        WORKSPACE,
        ("claude", "auth", "status"),
        interactive=False,
        env_names=("SANDWARDEN_RUN",),
    )

    assert argv == (
        "docker",
        "sandbox",
        "exec",
        "-w",
        "/srv/bot workspace",
        "-e",
        "SANDWARDEN_RUN",
        "bot-sandbox",
        "claude",
        "auth",
        "status",
    )


def test_sbx_exec_puts_the_command_after_a_double_dash() -> None:
    argv = exec_argv(
        Dialect.SBX,
        NAME,
        WORKSPACE,
        ClaudeRun().argv(),
        interactive=True,
        env_names=("SANDWARDEN_RUN", "CLAUDE_CODE_OAUTH_TOKEN"),
    )

    assert argv[:10] == (
        "sbx",
        "exec",
        "-i",
        "-w",
        "/srv/bot workspace",
        "-e",
        "SANDWARDEN_RUN",
        "-e",
        "CLAUDE_CODE_OAUTH_TOKEN",
        "bot-sandbox",
    )
    assert argv[10] == "--"
    assert argv[11:] == ClaudeRun().argv()


@pytest.mark.parametrize("name", ["A=secret", "", "1ABC", "WITH SPACE"])
def test_an_environment_value_can_never_ride_on_argv(name: str) -> None:
    with pytest.raises(ValueError, match="environment variable"):
        exec_argv(
            Dialect.SBX,
            NAME,
            WORKSPACE,
            ("true",),
            interactive=False,
            env_names=(name,),
        )


def test_exec_needs_a_command() -> None:
    with pytest.raises(ValueError, match="command"):
        exec_argv(Dialect.SBX, NAME, WORKSPACE, (), interactive=False)


@pytest.mark.parametrize(
    "variable",
    [
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "CLAUDE_CODE_USE_BEDROCK",
        "CLAUDE_CODE_USE_VERTEX",
        "CLAUDE_CODE_USE_FOUNDRY",
        "AWS_BEARER_TOKEN_BEDROCK",
        "ANTHROPIC_SOMETHING_API_KEY",
    ],
)
def test_billing_variables_are_refused_by_name(variable: str) -> None:
    env = {"SANDWARDEN_RUN": "r1", variable: "value"}

    error = forwarded_env(env, allow_api_key=False).failure()

    assert error.kind is ErrorKind.BILLING_GUARD
    assert variable in error.message
    assert "value" not in error.message
    assert "SANDBOX_ALLOW_API_KEY_AUTH=true" in error.message


def test_every_refused_variable_is_named_at_once() -> None:
    env = {"ANTHROPIC_API_KEY": "k", "CLAUDE_CODE_USE_VERTEX": "1"}

    error = forwarded_env(env, allow_api_key=False).failure()

    assert "ANTHROPIC_API_KEY" in error.message
    assert "CLAUDE_CODE_USE_VERTEX" in error.message


def test_billing_variables_pass_when_allowed() -> None:
    env = {"ANTHROPIC_API_KEY": "k"}

    assert forwarded_env(env, allow_api_key=True).unwrap() == env


def test_the_subscription_oauth_token_is_forwarded() -> None:
    env = {"CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-x", "TZ": "UTC"}

    assert forwarded_env(env, allow_api_key=False).unwrap() == env


@pytest.mark.parametrize(
    ("env", "mentioned"),
    [
        ({"BAD=NAME": "x"}, "BAD=NAME"),
        ({"": "x"}, "''"),
        ({"GOOD": "a\x00b"}, "GOOD"),
    ],
)
def test_unusable_variables_are_refused(
    env: dict[str, str],
    mentioned: str,
) -> None:
    error = forwarded_env(env, allow_api_key=True).failure()

    assert error.kind is ErrorKind.INVALID_INPUT
    assert mentioned in error.message


@given(
    st.dictionaries(
        st.from_regex(r"[A-Z_][A-Z0-9_]{0,20}", fullmatch=True),
        st.text(alphabet=st.characters(exclude_characters="\x00")),
    ),
)
def test_what_is_forwarded_is_exactly_what_was_asked(
    env: dict[str, str],
) -> None:
    result = forwarded_env(env, allow_api_key=True)

    assert result.unwrap() == env
    assert is_successful(result)


def test_auth_status_asks_for_json_only_when_told() -> None:
    assert auth_status_argv(json=True) == (
        "claude",
        "auth",
        "status",
        "--json",
    )
    assert auth_status_argv(json=False) == ("claude", "auth", "status")


def test_git_head_asks_git_for_head() -> None:
    assert git_head_argv() == ("git", "rev-parse", "HEAD")
