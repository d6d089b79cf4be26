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

The tools' sentences are data (``TOOL_SYMPTOMS``, in ``symptoms``),
matched case-insensitively; Claude's own sentences live in
``claude_texts``; what text is read at all is ``evidence``'s to say.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import assert_never

from returns.result import Failure, Result, Success

from sandwarden.domain import claude_texts, reply
from sandwarden.domain.auth import parse_auth_status
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.evidence import gather_evidence, without_docker_account
from sandwarden.domain.reply import Reply
from sandwarden.domain.symptoms import TOOL_SYMPTOMS, Context, Symptom

__all__ = ["TOOL_SYMPTOMS", "Context", "Symptom", "classify"]

# Enough of the evidence to recognise a failure in a log or `--json`
# output, without carrying a whole transcript around in an error value.
_TAIL_CHARS = 2000
# A quoted sentence in a message stays readable on one terminal screen.
_QUOTE_CHARS = 300

_CLAUDE = frozenset({Context.PROBE, Context.PROMPT, Context.RESUME})
_RUNS = frozenset({Context.PROMPT, Context.RESUME})
_UNAVAILABLE = ErrorKind.SANDBOX_UNAVAILABLE
_R = UnavailableReason


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
    evidence = gather_evidence(out, err, context, exit_code)
    claude_evidence = without_docker_account(evidence)

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
