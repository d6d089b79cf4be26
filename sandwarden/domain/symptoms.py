"""
The sandbox tools' known failure sentences, and what each one means.

``TOOL_SYMPTOMS`` is data: each ``Symptom`` pairs a pattern, matched
case-insensitively, with the error kind, reason and fix it
stands for, and the ``Context`` (kind of command) it applies to.
``classify`` decides which of them, if any, the outputs show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum, unique

from sandwarden.domain.auth import UNSUPPORTED_OPTION
from sandwarden.domain.errors import ErrorKind, UnavailableReason

__all__ = ["TOOL_SYMPTOMS", "Context", "Symptom"]


@unique
class Context(StrEnum):
    """What kind of command produced the outputs."""

    PROBE = "probe"  # `claude auth status` and other health checks
    PROMPT = "prompt"  # a claude run starting a conversation
    RESUME = "resume"  # a claude run resuming one
    TOOL = "tool"  # `ls`, `create`, `rm`, `stop`, `version`
    IMAGE = "image"  # `save`, `docker image ...`: need the image store


_ALL = frozenset(Context)
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
