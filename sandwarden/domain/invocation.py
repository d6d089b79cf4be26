"""
The exact argv of every command the warden runs, for each tool dialect.

Argv is visible to every local user (`ps`, `/proc/<pid>/cmdline`) and a
single argument is limited in length, so two things never go on it: the
prompt, which travels on stdin (`claude -p` reads it from there), and the
values of environment variables, which the tools forward by name (`-e
NAME` copies NAME from the tool's own environment, where the adapter
sets it). Each value is one argv item; nothing is ever joined for a
shell.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum, unique
from typing import assert_never

from returns.result import Failure, Result, Success

from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.domain.values import SandboxName, SessionId, Workspace

__all__ = [
    "BILLING_VARIABLES",
    "ClaudeRun",
    "Dialect",
    "auth_status_argv",
    "exec_argv",
    "forwarded_env",
    "git_head_argv",
]

# Linux refuses a single argument longer than MAX_ARG_STRLEN (32 pages,
# 128 KiB) with E2BIG; stay clear of it, the tools add nothing to ours.
_ARG_MAX_BYTES = 128 * 1024 - 1

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: Variables that make Claude bill an API account or a cloud provider
#: instead of the subscription (the CLI's credential precedence puts
#: every one of them before the /login OAuth token).
BILLING_VARIABLES: frozenset[str] = frozenset(
    {
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_FOUNDRY_API_KEY",
        "AWS_BEARER_TOKEN_BEDROCK",
        "CLAUDE_CODE_USE_BEDROCK",
        "CLAUDE_CODE_USE_VERTEX",
        "CLAUDE_CODE_USE_FOUNDRY",
    },
)

# Any other Anthropic key or token by its name, for variables added later.
_BILLING_NAME = re.compile(r"ANTHROPIC_\w*(?:API_KEY|AUTH_TOKEN)")


@unique
class Dialect(StrEnum):
    """Which sandbox tool a command line is written for."""

    DOCKER_SANDBOX = "docker_sandbox"
    SBX = "sbx"


@dataclass(frozen=True, slots=True)
class ClaudeRun:
    """
    One non-interactive claude run, as the argv inside the sandbox.

    There is no prompt field: the prompt goes on stdin. Build it with
    ``parse`` to get a ``Result``; the constructor raises ``ValueError``
    on the same problems, for values written in code.
    """

    model: str | None = None
    system_prompt: str | None = None
    append_system_prompt: str | None = None
    resume: SessionId | None = None
    partial_messages: bool = False
    max_turns: int | None = None
    max_budget_usd: float | None = None

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem is not None:
            raise ValueError(problem)

    @classmethod
    def parse(
        cls,
        *,
        model: str | None = None,
        system_prompt: str | None = None,
        append_system_prompt: str | None = None,
        resume: SessionId | None = None,
        partial_messages: bool = False,
        max_turns: int | None = None,
        max_budget_usd: float | None = None,
    ) -> Result[ClaudeRun, WardenError]:
        """Build a run, or say which field is unusable and why."""
        try:
            run = cls(
                model=model,
                system_prompt=system_prompt,
                append_system_prompt=append_system_prompt,
                resume=resume,
                partial_messages=partial_messages,
                max_turns=max_turns,
                max_budget_usd=max_budget_usd,
            )
        except ValueError as error:
            return Failure(WardenError.invalid(str(error)))

        return Success(run)

    def argv(self) -> tuple[str, ...]:
        """
        The claude command line, without the prompt.

        `--verbose` is required by stream-json with `-p`, and without
        `--permission-mode bypassPermissions` claude waits for a human
        to approve a tool and the run hangs. `--resume=<id>` is one token
        so that an id is never read as a flag.
        """
        argv = [
            "claude",
            "-p",
            "--permission-mode",
            "bypassPermissions",
            "--verbose",
            "--output-format",
            "stream-json",
        ]
        if self.model is not None:
            argv += ["--model", self.model]
        if self.system_prompt is not None:
            argv += ["--system-prompt", self.system_prompt]
        if self.append_system_prompt is not None:
            argv += ["--append-system-prompt", self.append_system_prompt]
        if self.resume is not None:
            argv.append(f"--resume={self.resume}")
        if self.partial_messages:
            argv.append("--include-partial-messages")
        if self.max_turns is not None:
            argv += ["--max-turns", str(self.max_turns)]
        if self.max_budget_usd is not None:
            argv += ["--max-budget-usd", repr(self.max_budget_usd)]

        return tuple(argv)


def exec_argv(
    dialect: Dialect,
    name: SandboxName,
    workdir: Workspace,
    command: Sequence[str],
    *,
    interactive: bool,
    env_names: Sequence[str] = (),
) -> tuple[str, ...]:
    """
    Wrap ``command`` to run inside sandbox ``name``, in ``workdir``.

    ``interactive`` keeps stdin open (`-i`), which a prompt on stdin
    needs. Every name in ``env_names`` is forwarded by name only; the
    caller puts the values in the tool's environment. sbx parses flags
    after the sandbox name, so its command follows `--` (as Docker's own
    sbx tests write it); the plugin stops at the name, like `docker exec`,
    and would hand a `--` to the command. A bad name or an empty command
    is a bug of the caller and raises ``ValueError``.
    """
    if not command:
        msg = "exec needs a command to run; got an empty one"
        raise ValueError(msg)
    for variable in env_names:
        if not _ENV_NAME.fullmatch(variable):
            msg = (
                f"environment variable name {variable!r} is not usable; "
                "expected letters, digits and '_', forwarded without value"
            )
            raise ValueError(msg)

    flags = ["-i"] if interactive else []
    flags += ["-w", str(workdir)]
    for variable in env_names:
        flags += ["-e", variable]
    match dialect:
        case Dialect.DOCKER_SANDBOX:
            argv = ["docker", "sandbox", "exec", *flags, str(name)]
        case Dialect.SBX:
            argv = ["sbx", "exec", *flags, str(name), "--"]
        case _:  # pragma: no cover
            assert_never(dialect)

    return (*argv, *command)


def forwarded_env(
    env: Mapping[str, str],
    allow_api_key: bool,
) -> Result[dict[str, str], WardenError]:
    """
    Check the variables a caller wants set inside the sandbox.

    A variable that switches Claude to API or cloud billing is refused by
    name, never dropped in silence, unless ``allow_api_key``.
    `CLAUDE_CODE_OAUTH_TOKEN` passes: it is a subscription token from
    `claude setup-token`, billed to the plan like a /login.
    """
    bad_names = sorted(name for name in env if not _ENV_NAME.fullmatch(name))
    if bad_names:
        return Failure(
            WardenError.invalid(
                f"environment variable names {bad_names!r} are not usable; "
                "expected letters, digits and '_' only",
            ),
        )
    with_nul = sorted(name for name, value in env.items() if "\x00" in value)
    if with_nul:
        return Failure(
            WardenError.invalid(
                f"environment variables {with_nul!r} hold a NUL byte, "
                "which no process environment can carry",
            ),
        )

    billing = sorted(name for name in env if _is_billing(name))
    if billing and not allow_api_key:
        return Failure(
            WardenError(
                ErrorKind.BILLING_GUARD,
                f"refusing to forward {', '.join(billing)} into the "
                "sandbox: it makes Claude bill an API account or a cloud "
                "provider instead of the subscription; remove it, or "
                "allow API-key billing explicitly with "
                "SANDBOX_ALLOW_API_KEY_AUTH=true",
                detail=", ".join(billing),
            ),
        )

    return Success(dict(env))


def auth_status_argv(json: bool) -> tuple[str, ...]:
    """
    The argv of `claude auth status`.

    Current CLIs print JSON by default; some releases need `--json`,
    and CLIs that refuse it print text without it.
    """
    argv = ("claude", "auth", "status")

    return (*argv, "--json") if json else argv


def git_head_argv() -> tuple[str, ...]:
    """The argv that prints the commit HEAD points at."""
    return ("git", "rev-parse", "HEAD")


def _is_billing(name: str) -> bool:
    upper = name.upper()

    return upper in BILLING_VARIABLES or bool(_BILLING_NAME.fullmatch(upper))


def _problem(run: ClaudeRun) -> str | None:
    """Say what is unusable in ``run``, or nothing."""
    if run.model is not None and (
        not run.model.strip()
        or run.model.startswith("-")
        or any(c.isspace() or c == "\x00" for c in run.model)
    ):
        return (
            f"model {run.model!r} is not usable; expected a model name "
            "such as 'claude-sonnet-4-6' or an alias such as 'opus'"
        )
    for label, text in (
        ("system prompt", run.system_prompt),
        ("appended system prompt", run.append_system_prompt),
    ):
        if text is None:
            continue
        if "\x00" in text:
            return f"{label} contains a NUL byte, which argv cannot carry"
        size = len(text.encode("utf-8", errors="surrogatepass"))
        if size > _ARG_MAX_BYTES:
            return (
                f"{label} is {size} bytes; one argument may hold at most "
                f"{_ARG_MAX_BYTES} (Linux MAX_ARG_STRLEN); put long "
                "instructions in CLAUDE.md in the workspace instead"
            )
    if run.max_turns is not None and run.max_turns < 1:
        return f"max turns is {run.max_turns}; expected 1 or more"
    if run.max_budget_usd is not None and not (
        math.isfinite(run.max_budget_usd) and run.max_budget_usd > 0
    ):
        return (
            f"max budget is {run.max_budget_usd!r} USD; expected a "
            "positive amount"
        )

    return None
