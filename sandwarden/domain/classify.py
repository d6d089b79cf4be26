"""
What went wrong, read from a command's exit code and outputs.

``classify`` turns the outputs of any command the warden runs (the
sandbox tools themselves, `claude auth status`, a claude run) into one
``WardenError``, or ``Success(None)`` when they show nothing wrong. It
follows the specification's order of evidence:

1. a claude run's result on stdout decides, whatever the exit code;
2. then Claude's login (``auth``): re-login is the fix even when the
   run was a resume;
3. then the sandbox (``sandbox_unavailable``, with its reason);
4. then the session to resume (``session_not_found``);
5. then everything else the tools or Claude are known to say;
6. then the exit code, read for its ``Context``: a failed probe means
   the sandbox is unusable, an unexplained failure of a run stays
   ``unknown`` rather than misfiled.

The tools' sentences are data (``TOOL_SYMPTOMS``), matched
case-insensitively; Claude's own sentences live in ``claude_texts``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum, unique
from typing import assert_never

from returns.result import Failure, Result, Success

from sandwarden.domain import claude_texts, reply
from sandwarden.domain.auth import (
    UNSUPPORTED_OPTION,
    parse_auth_status,
)
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.reply import Reply

__all__ = ["TOOL_SYMPTOMS", "Context", "Symptom", "classify"]

# Enough of the evidence to recognise a failure in a log or `--json`
# output, without carrying a whole transcript around in an error value.
_TAIL_CHARS = 2000
# A quoted sentence in a message stays readable on one terminal screen.
_QUOTE_CHARS = 300


@unique
class Context(StrEnum):
    """What kind of command produced the outputs."""

    PROBE = "probe"  # `claude auth status` and other health checks
    PROMPT = "prompt"  # a claude run starting a conversation
    RESUME = "resume"  # a claude run resuming one
    TOOL = "tool"  # `ls`, `create`, `rm`, `stop`, `version`
    IMAGE = "image"  # `save`, `docker image ...`: need the image store


_ALL = frozenset(Context)
_CLAUDE = frozenset({Context.PROBE, Context.PROMPT, Context.RESUME})
_RUNS = frozenset({Context.PROMPT, Context.RESUME})
_TOOLS = frozenset({Context.TOOL, Context.IMAGE})


@dataclass(frozen=True, slots=True)
class Symptom:
    """
    One thing a sandbox tool is known to print, and what it means.

    ``message`` may name ``{sandbox}`` (`sandbox 'x'` when the pattern
    captures the name, else `the sandbox`) and ``{line}`` (the line that
    matched).
    ``docker_account`` marks sentences about sbx's Docker sign-in, which
    must never be read as Claude's login failing.
    """

    pattern: re.Pattern[str]
    kind: ErrorKind
    reason: UnavailableReason | None
    message: str
    contexts: frozenset[Context] = _ALL
    docker_account: bool = False


def _symptom(
    pattern: str,
    kind: ErrorKind,
    reason: UnavailableReason | None,
    message: str,
    *,
    contexts: frozenset[Context] = _ALL,
    docker_account: bool = False,
) -> Symptom:
    return Symptom(
        re.compile(pattern, re.IGNORECASE | re.MULTILINE),
        kind,
        reason,
        message,
        contexts,
        docker_account,
    )


_UNAVAILABLE = ErrorKind.SANDBOX_UNAVAILABLE
_R = UnavailableReason
_QUOTED_NAME = r"['\"](?P<name>[^'\"\n]*)['\"]"
_HEAL = "create it with `sandwarden login` or let the warden heal"

#: The sandbox tools' failure sentences, in the order they are tried
#: (first match wins within a priority tier). Sources: the error tables
#: of the `docker sandbox` and `sbx` references and the specification.
TOOL_SYMPTOMS: tuple[Symptom, ...] = (
    # -- the tool itself ------------------------------------------------
    _symptom(
        r"unknown command:? \"?docker sandbox"
        r"|'?sandbox'? is not a docker command",
        _UNAVAILABLE,
        _R.PLUGIN_MISSING,
        "the `docker sandbox` plugin is not installed; install Docker "
        "Desktop 4.58 or later with its sandbox feature, or use the "
        "`sbx` runtime",
    ),
    _symptom(
        r"\b(?:sbx|docker): (?:command )?not found"
        r"|executable file not found in \$path",
        _UNAVAILABLE,
        _R.TOOL_MISSING,
        "the sandbox tool is not installed or not on PATH ({line}); "
        "install it or set the runtime to the tool you have",
        contexts=_TOOLS | {Context.PROBE},
    ),
    _symptom(
        r"check feature is enabled|this feature is not available yet",
        _UNAVAILABLE,
        _R.FEATURE_DISABLED,
        "Docker Desktop has its sandbox feature turned off; turn on beta "
        "features and Docker AI in its settings (AllowBetaFeatures, "
        "EnableDockerAI) and retry",
    ),
    # -- sbx's own Docker sign-in (not Claude's login) ----------------
    _symptom(
        r"docker session could not be refreshed",
        _UNAVAILABLE,
        _R.PROBE_FAILED,
        "sbx could not refresh its Docker sign-in because of a network "
        "problem; it resolves itself once login.docker.com is reachable, "
        "retry shortly",
        docker_account=True,
    ),
    _symptom(
        r"docker session has expired|no valid user session found"
        r"|not authenticated to docker|sign in to docker"
        r"|auth login failed",
        _UNAVAILABLE,
        _R.FEATURE_DISABLED,
        "sbx is signed out of its Docker account (the session expired or "
        "the sign-in failed); run `sbx login` on the host; Claude's own "
        "login is not affected",
        docker_account=True,
    ),
    # -- the daemon -----------------------------------------------------
    _symptom(
        r"ensure daemon: context canceled"
        r"|waiting for the previous sandboxd to exit",
        _UNAVAILABLE,
        _R.WEDGED,
        "the sandbox daemon is stuck waiting for a previous one to exit; "
        "restart it (`sbx daemon restart`, or restart Docker Desktop)",
    ),
    _symptom(
        r"needs to restart\. restart now",
        _UNAVAILABLE,
        _R.DAEMON_DOWN,
        "sbx was updated and its daemon must restart, which it only asks "
        "a terminal for; run `sbx daemon restart` once by hand",
    ),
    _symptom(
        r"cannot connect to the docker daemon|docker daemon is not running"
        r"|docker desktop is not running|error during connect"
        r"|daemon failed to start|failed to list runtimes"
        r"|client\.timeout exceeded|io: read/write on closed pipe",
        _UNAVAILABLE,
        _R.DAEMON_DOWN,
        "the sandbox daemon is not reachable (Docker Desktop or sbx's "
        "daemon is down); start Docker Desktop or `sbx daemon start`; "
        "existing sandboxes come back as they were",
    ),
    # -- the sandbox ----------------------------------------------------
    _symptom(
        r"socket path is empty",
        _UNAVAILABLE,
        _R.WEDGED,
        "the sandbox's VM lost its identity after a failed start "
        "(socket path is empty); remove the sandbox and create it again, "
        "as the warden's heal does",
    ),
    _symptom(
        r"no sandbox found in " + _QUOTED_NAME,
        _UNAVAILABLE,
        _R.NOT_FOUND,
        f"{{sandbox}} does not exist; {_HEAL}",
    ),
    _symptom(
        r"sandbox " + _QUOTED_NAME + r" (?:does not exist|not found)"
        r"|no sandbox named " + _QUOTED_NAME.replace("name", "name2"),
        _UNAVAILABLE,
        _R.NOT_FOUND,
        f"{{sandbox}} does not exist; {_HEAL}",
    ),
    _symptom(
        r"no such container|sandbox not found|no such sandbox",
        _UNAVAILABLE,
        _R.NOT_FOUND,
        f"the sandbox does not exist; {_HEAL}",
    ),
    _symptom(
        r"agent binary \"?claude\"? not found"
        r"|claude binary was not found|claude: (?:command )?not found",
        _UNAVAILABLE,
        _R.CREATE_FAILED,
        "the sandbox has no claude binary: it was made from an image "
        "without the agent; create it again from a claude template",
    ),
    _symptom(
        r"os and architecture not supported",
        _UNAVAILABLE,
        _R.CREATE_FAILED,
        "this host's operating system or CPU cannot run sandboxes "
        "({line}); use a supported host (macOS or Windows for the "
        "plugin, or sbx)",
    ),
    _symptom(
        # A taken name is wrapped as `failed to create sandbox: ... already
        # exists`: that is `already_exists`, matched later, not a failure.
        r"failed to create sandbox(?!.*already exists)"
        r"|create/start vm|vm create failed"
        r"|failed to create network",
        _UNAVAILABLE,
        _R.CREATE_FAILED,
        "the tool could not create the sandbox ({line}); free disk "
        "space or restart Docker Desktop or the sbx daemon, then retry",
    ),
    _symptom(
        r"failed to start (?:sandbox|vm)|start runtime",
        _UNAVAILABLE,
        _R.NOT_RUNNING,
        "the sandbox's VM failed to start ({line}); restart Docker "
        "Desktop or the sbx daemon, or remove and recreate the sandbox",
    ),
    _symptom(
        r"is not running",
        _UNAVAILABLE,
        _R.NOT_RUNNING,
        "the sandbox is not running; start it (`docker sandbox run "
        "<name>` or `sbx run --name <name>`) or let the warden heal",
    ),
    _symptom(
        # sbx's own checks only promise "not found" somewhere in the text
        # for a missing sandbox; a line about an image, a template, a
        # file or a session is some other missing thing.
        r"^(?!.*\b(?:image|template|file|session|directory|command)\b)"
        r".*\bnot found\b",
        _UNAVAILABLE,
        _R.NOT_FOUND,
        f"the sandbox does not exist ({{line}}); {_HEAL}",
        contexts=frozenset({Context.TOOL}),
    ),
    # -- the command line -----------------------------------------------
    _symptom(
        UNSUPPORTED_OPTION.pattern,
        ErrorKind.UNSUPPORTED_OPTION,
        None,
        "this version of the tool does not know an option ({line}); "
        "update it, or ask without that option",
    ),
    _symptom(
        r"unknown command:? \"?sbx\b",
        ErrorKind.UNSUPPORTED,
        None,
        "this version of sbx lacks the command ({line}); update sbx",
    ),
    _symptom(
        r"input must be provided either through stdin",
        ErrorKind.INVALID_INPUT,
        None,
        "claude received no prompt: the prompt was empty or stdin was "
        "not passed through (`exec -i`); this is a sandwarden bug if the "
        "prompt was not empty",
    ),
    _symptom(
        r"requires a workspace path|requires at least \d+ argument",
        ErrorKind.INVALID_INPUT,
        None,
        "the tool refused the command line sandwarden built ({line}); "
        "this is a sandwarden bug, please report it",
    ),
    _symptom(
        r"sandbox " + _QUOTED_NAME + r" already exists|already exists",
        ErrorKind.ALREADY_EXISTS,
        None,
        "{sandbox} already exists; reuse it, or remove it first",
        contexts=_TOOLS,
    ),
    _symptom(
        r"no such image|image not known|reference does not exist"
        r"|image .{0,200}not found",
        ErrorKind.NOT_FOUND,
        None,
        "the image is not in the image store ({line}); save a template "
        "first, or load one from a backup",
        contexts=frozenset({Context.IMAGE}),
    ),
)

# `ERROR: ...` (sbx, `[sbx] ERROR:` when exec started the sandbox) or
# `Error: ...` (the plugin, claude): the sentence worth quoting.
_ERROR_LINE = re.compile(
    r"^\s*(?:\[sbx\]\s*)?(?:error|fatal):\s*(?P<text>\S.*?)\s*$",
    re.IGNORECASE | re.MULTILINE,
)


def classify(
    exit_code: int | None,
    stdout: bytes,
    stderr: bytes,
    context: Context,
) -> Result[None, WardenError]:
    """
    Say what the outputs of a command show to be wrong, if anything.

    ``exit_code`` is ``None`` when the process was killed or its status
    is unknown; then only the outputs speak. ``stdout`` may be empty when
    the caller streamed it elsewhere; a claude run's result is then
    judged by the caller's own decoder.
    """
    out = stdout.decode("utf-8", errors="replace")
    err = stderr.decode("utf-8", errors="replace")
    evidence = _evidence(out, err, context, exit_code)
    claude_evidence = _without_docker_account(evidence)

    if context in _RUNS:
        found = _run_result(stdout)
        if found is not None:
            return _from_run_result(found, claude_evidence, evidence)

    if claude_texts.is_auth_failure(claude_evidence) or _probe_logged_out(
        out,
        err,
        exit_code,
        context,
    ):
        return Failure(_auth_error(claude_evidence, evidence))

    symptom = _first_symptom(evidence, context, unavailable=True)
    if symptom is not None:
        return Failure(symptom)

    if claude_texts.is_session_missing(claude_evidence):
        return Failure(
            _claude_error(
                ErrorKind.SESSION_NOT_FOUND,
                claude_evidence,
                claude_texts.is_session_missing,
            ),
        )

    symptom = _first_symptom(evidence, context, unavailable=False)
    if symptom is not None:
        return Failure(symptom)

    if context in _CLAUDE:
        known = _claude_failure(claude_evidence)
        if known is not None:
            return Failure(known)

    return _from_exit_code(exit_code, out, err, evidence, context)


def _evidence(
    out: str,
    err: str,
    context: Context,
    exit_code: int | None,
) -> str:
    """
    The text worth searching: stderr, and what on stdout is not JSON.

    JSON is Claude's events or a tool's data, whose strings (an answer
    that talks about Docker, an organisation's name) must not be read as
    a failure. A tool that succeeded printed data on stdout, not
    complaints.
    """
    if context in _TOOLS and exit_code == 0:
        return err
    noise = _non_json_lines(out)
    if not noise:
        return err

    return err + "\n" + "\n".join(noise)


def _non_json_lines(text: str) -> list[str]:
    """
    The lines of ``text`` outside JSON objects, pretty-printed or not.

    A line that starts like JSON but does not parse is a cut-off event,
    not a complaint; only a lone `{` is decoded onwards (`auth status`
    prints its object over several lines), which keeps the work linear.
    """
    decoder = json.JSONDecoder()
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    offset = 0
    skip_to = 0
    for line in lines:
        start, offset = offset, offset + len(line)
        stripped = line.strip()
        if start < skip_to or stripped.startswith("{"):
            if stripped == "{" and start >= skip_to:
                skip_to = _end_of_object(decoder, text, start)
            continue
        kept.append(line.rstrip("\r\n"))

    return kept


def _end_of_object(decoder: json.JSONDecoder, text: str, start: int) -> int:
    begin = text.index("{", start)
    try:
        _, end = decoder.raw_decode(text, begin)
    except ValueError:
        return start

    return end


def _without_docker_account(text: str) -> str:
    """Drop the lines about sbx's Docker sign-in, which is not Claude's."""
    account = [s.pattern for s in TOOL_SYMPTOMS if s.docker_account]

    return "\n".join(
        line
        for line in text.splitlines()
        if not any(pattern.search(line) for pattern in account)
    )


def _probe_logged_out(
    out: str,
    err: str,
    exit_code: int | None,
    context: Context,
) -> bool:
    """A probe's `auth status` says logged out (exit 1, JSON on stdout)."""
    if context is not Context.PROBE:
        return False
    status = parse_auth_status(
        out, err, -1 if exit_code is None else exit_code
    )

    return bool(status.map(lambda found: not found.logged_in).value_or(False))


def _first_symptom(
    text: str,
    context: Context,
    *,
    unavailable: bool,
) -> WardenError | None:
    """The error of the first matching symptom of one priority tier."""
    for symptom in TOOL_SYMPTOMS:
        if (symptom.kind is _UNAVAILABLE) != unavailable:
            continue
        if context not in symptom.contexts:
            continue
        found = symptom.pattern.search(text)
        if found is not None:
            return _symptom_error(symptom, found, text, context)

    return None


def _symptom_error(
    symptom: Symptom,
    found: re.Match[str],
    text: str,
    context: Context,
) -> WardenError:
    groups = found.groupdict()
    name = groups.get("name") or groups.get("name2")
    sandbox = f"sandbox {name!r}" if name else "the sandbox"
    line = _line_at(text, found.start())
    message = symptom.message.format(sandbox=sandbox, line=line)
    detail = _tail(text)

    # Templates, backups and restores need the image store; with the
    # daemon down the fix is starting Docker Desktop, not a heal.
    if context is Context.IMAGE and symptom.reason is _R.DAEMON_DOWN:
        return WardenError(
            ErrorKind.DESKTOP_REQUIRED,
            "the image store is not reachable: templates, backups and "
            "restores need Docker Desktop (or the sbx daemon) running; "
            "start it and retry (running Claude in an existing sandbox "
            "does not need it)",
            detail=detail,
        )
    if symptom.kind is _UNAVAILABLE:
        reason = symptom.reason or _R.PROBE_FAILED
        return WardenError.unavailable(reason, message, detail)

    return WardenError(symptom.kind, message, detail=detail)


def _claude_failure(text: str) -> WardenError | None:
    """Claude's other known complaints, found on stderr or as noise."""
    if claude_texts.is_verbose_missing(text):
        return WardenError(
            ErrorKind.INVALID_INPUT,
            "the claude invocation lacks --verbose, which stream-json "
            "output needs with -p; this is a sandwarden bug, please "
            "report it",
            detail=_tail(text),
        )
    checks: tuple[tuple[Callable[[str], bool], ErrorKind], ...] = (
        (claude_texts.is_usage_limit, ErrorKind.USAGE_LIMIT),
        (claude_texts.is_api_error, ErrorKind.API_ERROR),
    )
    for check, kind in checks:
        if check(text):
            return _claude_error(kind, text, check)

    return None


def _from_exit_code(
    exit_code: int | None,
    out: str,
    err: str,
    evidence: str,
    context: Context,
) -> Result[None, WardenError]:
    """Nothing recognised: what the exit code means in this context."""
    if (
        exit_code == 0
        and context is Context.PROBE
        and not (out.strip() or err.strip())
    ):
        return Failure(
            WardenError.unavailable(
                _R.PROBE_FAILED,
                "the probe succeeded but printed nothing, the usual sign "
                "of a workspace mismatch; check that the workspace in "
                "`docker sandbox ls` (or `sbx ls`) is exactly the "
                "configured one",
            ),
        )
    if exit_code is None or exit_code == 0:
        return Success(None)

    quoted = _error_sentence(evidence)
    said = f": {quoted}" if quoted else " and said nothing recognisable"
    detail = f"exit {exit_code}; {_tail(evidence)}"
    match context:
        case Context.PROBE:
            return Failure(
                WardenError.unavailable(
                    _R.PROBE_FAILED,
                    f"the probe failed with exit {exit_code}{said}; the "
                    "sandbox is not usable until it answers",
                    detail,
                ),
            )
        case Context.PROMPT | Context.RESUME:
            return Failure(
                WardenError(
                    ErrorKind.UNKNOWN,
                    f"claude exited with {exit_code} without a result{said}",
                    detail=detail,
                ),
            )
        case Context.TOOL | Context.IMAGE:
            return Failure(
                WardenError(
                    ErrorKind.UNKNOWN,
                    f"the sandbox tool failed with exit {exit_code}{said}",
                    detail=detail,
                ),
            )
        case _:  # pragma: no cover
            assert_never(context)


# -- a claude run's result -----------------------------------------------


def _run_result(stdout: bytes) -> Reply | None:
    """The reply of a claude run, when its stdout holds a result."""
    found = reply.decode(stdout)

    return None if found.is_error is None else found


def _from_run_result(
    found: Reply,
    claude_evidence: str,
    evidence: str,
) -> Result[None, WardenError]:
    """
    A result decides, except that a failed login outranks all else.

    The reply may name a failed resume first; when its own sentences or
    stderr show the login failing too, re-login is the fix that works.
    """
    if found.succeeded or found.error_kind is None:
        return Success(None)

    said = found.error_message or ""
    if found.error_kind is not ErrorKind.AUTH and (
        claude_texts.is_auth_failure(said)
        or claude_texts.is_auth_failure(claude_evidence)
    ):
        return Failure(_auth_error(f"{said}\n{claude_evidence}", evidence))

    return Failure(
        WardenError(
            found.error_kind,
            _with_fix(found.error_kind, said),
            detail=_tail(f"{said}\n{evidence}"),
        ),
    )


# -- messages --------------------------------------------------------------

_FIXES: dict[ErrorKind, str] = {
    ErrorKind.AUTH: (
        "Claude's login in the sandbox is missing or no longer works; log "
        "in again with `sandwarden login` (or run `claude` and /login "
        "inside the sandbox)"
    ),
    ErrorKind.SESSION_NOT_FOUND: (
        "the sandbox has no conversation with that session id (it was "
        "recreated, or the id is stale); start a new conversation"
    ),
    ErrorKind.USAGE_LIMIT: (
        "the plan's usage limit is reached; wait until it resets, or "
        "raise the plan's limit"
    ),
    ErrorKind.API_ERROR: (
        "the Claude API failed or is overloaded; retry in a while"
    ),
    ErrorKind.MAX_TURNS: "the run reached its --max-turns limit",
    ErrorKind.MAX_BUDGET: "the run reached its --max-budget-usd limit",
    ErrorKind.EXECUTION_ERROR: "Claude reported an error in the run",
}


def _claude_error(
    kind: ErrorKind,
    text: str,
    said: Callable[[str], bool] | None = None,
) -> WardenError:
    """An error of Claude's, quoting the line that ``said`` recognises."""
    line = _first_line_where(text, said) if said else ""
    sentence = line or _error_sentence(text) or _first_line(text)

    return WardenError(kind, _with_fix(kind, sentence), detail=_tail(text))


def _with_fix(kind: ErrorKind, sentence: str) -> str:
    base = _FIXES.get(kind, "Claude reported an error")
    if len(sentence) > _QUOTE_CHARS:
        sentence = sentence[: _QUOTE_CHARS - 1] + "…"

    return f"{base} (Claude said: {sentence})" if sentence else base


def _auth_error(claude_evidence: str, evidence: str) -> WardenError:
    line = _first_line_where(claude_evidence, claude_texts.is_auth_failure)
    message = _with_fix(ErrorKind.AUTH, line)

    return WardenError(ErrorKind.AUTH, message, detail=_tail(evidence))


def _error_sentence(text: str) -> str:
    """The last `ERROR:`/`Error:` sentence of a tool, without its prefix."""
    found = list(_ERROR_LINE.finditer(text))

    return found[-1]["text"] if found else ""


def _first_line(text: str) -> str:
    return next(
        (line.strip() for line in text.splitlines() if line.strip()), ""
    )


def _first_line_where(
    text: str,
    predicate: Callable[[str], object],
) -> str:
    return next(
        (line.strip() for line in text.splitlines() if predicate(line)),
        "",
    )


def _line_at(text: str, offset: int) -> str:
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    line = text[start:] if end < 0 else text[start:end]

    return line.strip()


def _tail(text: str) -> str:
    return text.strip()[-_TAIL_CHARS:]
